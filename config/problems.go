package config

import (
	"errors"
	"fmt"
)

// problems collects every configuration error, so that one run reports all
// of them rather than one per attempt.
type problems struct {
	file  string         // the YAML file, prefix of the errors found in it
	lines map[string]int // key path → line, for errors found after decoding
	errs  []error
}

func newProblems(file string) *problems {
	return &problems{file: file, lines: map[string]int{}}
}

// atKey records a problem with a YAML key. line 0 means the line recorded
// while decoding, if any.
func (p *problems) atKey(key string, line int, err error) {
	if line == 0 {
		line = p.lines[key]
	}
	if line > 0 {
		err = fmt.Errorf("%s: %w (line %d)", key, err, line)
	} else {
		err = fmt.Errorf("%s: %w", key, err)
	}
	if p.file != "" {
		err = fmt.Errorf("%s: %w", p.file, err)
	}
	p.errs = append(p.errs, err)
}

// unknownKey records a key the configuration does not have, with the
// nearest known one when it looks like a typo.
func (p *problems) unknownKey(key string, line int, name string, known []string) {
	hint := ""
	if guess, ok := nearest(name, known); ok {
		hint = fmt.Sprintf(": did you mean %q?", guess)
	}
	p.errs = append(p.errs, fmt.Errorf("%s: unknown key %q (line %d)%s", p.file, key, line, hint))
}

// atVariable records a problem with an environment variable.
func (p *problems) atVariable(name string, err error) {
	p.errs = append(p.errs, fmt.Errorf("%s: %w", name, err))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// nearest returns the candidate closest to s, if it is close enough to be a
// typo of it.
func nearest(s string, candidates []string) (string, bool) {
	best, bestDistance := "", 2+len(s)/4 // a typo changes a character or two
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best, best != ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			substitution := previous[j-1]
			if a[i-1] != b[j-1] {
				substitution++
			}
			current[j] = min(previous[j]+1, current[j-1]+1, substitution)
		}
		previous, current = current, previous
	}
	return previous[len(b)]
}
