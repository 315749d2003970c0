package config

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret is a string that never prints: fmt (every verb), slog, JSON, YAML and
// text encoders all see "[REDACTED]", or "" when it is empty so that a
// missing secret still shows as missing. Reveal is the only way to the value.
type Secret string

// Reveal returns the value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter. Without it a verb that does not suit a
// string (%d, %x …) would make fmt print the raw value in its error text.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// MarshalText implements encoding.TextMarshaler (JSON, YAML, slog handlers).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
