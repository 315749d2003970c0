package bot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

const fuzzSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// fuzzSign is Slack's v0 signature of body at timestamp ts.
func fuzzSign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// fuzzFresh tells whether ts is a timestamp slack-go accepts: an integer
// within 5 minutes of now (2 s of margin either way, for a slow run).
func fuzzFresh(ts string) (fresh, stale bool) {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false, true
	}
	diff := time.Since(time.Unix(n, 0)).Abs()
	return diff < 5*time.Minute-2*time.Second, diff > 5*time.Minute+2*time.Second
}

func fuzzSlackRequest(path, ts, sig string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ts != "" {
		req.Header["X-Slack-Request-Timestamp"] = []string{ts}
	}
	if sig != "" {
		req.Header["X-Slack-Signature"] = []string{sig}
	}
	return req
}

// FuzzSlackSignature: Slack's HTTP endpoints never panic on arbitrary
// signature and timestamp headers and bodies, and refuse them with 401
// (without running anything) unless they are correctly signed with a fresh
// timestamp; a correctly signed, fresh request is accepted with its body
// intact, and the same request with any one byte of its body changed, or
// with a stale timestamp, is refused.
func FuzzSlackSignature(f *testing.F) {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, seed := range []struct {
		ts, sig string
		body    []byte
		at      uint
		xor     byte
	}{
		{"1531420618", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fmf&text=status"), 0, 1},
		{now, "", []byte(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`), 5, 0x20},
		{"", "v0=00", nil, 0, 0},
		{"+" + now, "v0=zz", []byte("payload=%7B%7D"), 3, 0xff},
		{"-1", "v1=" + fuzzSign(fuzzSigningSecret, "-1", nil)[3:], []byte{0}, 0, 0x80},
		{"99999999999999999999", "V0=", []byte("ssl_check=1"), 100, 7},
		{now, fuzzSign(fuzzSigningSecret, now, []byte("ssl_check=1")), []byte("ssl_check=1"), 0, 1},
		{now + " ", fuzzSign(fuzzSigningSecret, now, nil), []byte("\xff\xfe"), 1, 1},
	} {
		f.Add(seed.ts, seed.sig, seed.body, seed.at, seed.xor)
	}
	s := NewSlack(nil, nil, nil, SlackOptions{})
	handler := s.SlackHTTPHandler(fuzzSigningSecret)
	paths := []string{"/slack/commands", "/slack/interactivity", "/slack/events"}
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte, at uint, xor byte) {
		if len(ts) > 64 || len(sig) > 128 || len(body) > 2048 {
			// Longer values add nothing but slow down each run and the
			// minimization of new inputs (quadratic in their length).
			return
		}
		// Arbitrary headers and body, through the real endpoints.
		path := paths[int(at%uint(len(paths)))]
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, fuzzSlackRequest(path, ts, sig, body))
		signed := hmac.Equal([]byte(sig), []byte(fuzzSign(fuzzSigningSecret, ts, body)))
		fresh, stale := fuzzFresh(ts)
		switch {
		case !signed || stale:
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("ts %q sig %q body %q on %s: status %d, want 401 (signed %v, stale %v)", ts, sig, body, path, rec.Code, signed, stale)
			}
		case fresh && rec.Code == http.StatusUnauthorized:
			t.Fatalf("ts %q sig %q body %q on %s: a correctly signed fresh request refused", ts, sig, body, path)
		}

		// A correctly signed request with the fuzzed body, fresh: accepted
		// with its body; one byte changed, or stale: refused.
		var got []byte
		calls := 0
		verified := s.verified(fuzzSigningSecret, func(w http.ResponseWriter, _ *http.Request, b []byte) {
			calls++
			got = b
			w.WriteHeader(http.StatusOK)
		})
		serve := func(ts, sig string, body []byte) int {
			calls = 0
			rec := httptest.NewRecorder()
			verified.ServeHTTP(rec, fuzzSlackRequest("/slack/events", ts, sig, body))
			if rec.Code != http.StatusOK && calls != 0 {
				t.Fatalf("status %d, but the handler ran", rec.Code)
			}
			return rec.Code
		}
		nowTS := strconv.FormatInt(time.Now().Unix(), 10)
		good := fuzzSign(fuzzSigningSecret, nowTS, body)
		if code := serve(nowTS, good, body); code != http.StatusOK || calls != 1 || !bytes.Equal(got, body) {
			t.Fatalf("correctly signed body %q: status %d, handler ran %d times with %q", body, code, calls, got)
		}
		if len(body) > 0 {
			mutated := bytes.Clone(body)
			mutated[int(at%uint(len(body)))] ^= max(xor, 1)
			if code := serve(nowTS, good, mutated); code != http.StatusUnauthorized {
				t.Fatalf("body %q changed to %q: status %d, want 401", body, mutated, code)
			}
		}
		old := strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10)
		if code := serve(old, fuzzSign(fuzzSigningSecret, old, body), body); code != http.StatusUnauthorized {
			t.Fatalf("stale but signed body %q: status %d, want 401", body, code)
		}
		if code := serve(nowTS, fuzzSign("another secret", nowTS, body), body); code != http.StatusUnauthorized {
			t.Fatalf("body %q signed with another secret: status %d, want 401", body, code)
		}
	})
}
