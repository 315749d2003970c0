package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNoPackageParsesFontsAtStart: mfbot's idle memory is a target (README,
// storm benchmark). gonum.org/v1/plot's plot package parses twelve embedded
// fonts in its initialiser, charts drawn or not (4.8 MB resident measured),
// and its font/liberation package links them all; the charts draw with
// gonum's canvas and parse their two fonts when one is drawn.
func TestNoPackageParsesFontsAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	for _, pkg := range deps {
		switch pkg {
		case "gonum.org/v1/plot", "gonum.org/v1/plot/font/liberation", "gonum.org/v1/plot/plotter":
			t.Errorf("mfbot links %s, which loads fonts when it starts", pkg)
		}
	}
}
