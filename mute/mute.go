// Package mute holds maintenance windows: a mute silences the
// notifications of a target (a service, a flow, a check, or all) in an
// environment until a time; incidents are still recorded. Policy is the
// one place that says what is muted, for the notifier, `incidents` and
// `status` alike. It imports nothing of mfbot.
package mute

import (
	"context"
	"fmt"
	"time"
)

// Mute silences the notifications of a target until a time.
type Mute struct {
	ID        int64
	Env       string // "" = every environment (configuration only)
	Target    string // a service, flow or check name, or All
	Until     time.Time
	Reason    string
	By        string // who muted: a Slack user ID, console:<login>, or ByConfiguration
	CreatedAt time.Time
}

// All is the target of a mute covering the whole environment.
const All = "all"

// ByConfiguration is the author of the mutes written in the configuration.
const ByConfiguration = "configuration"

// Covers says whether the mute silences target in env at t.
func (m Mute) Covers(env, target string, t time.Time) bool {
	return (m.Env == "" || m.Env == env) && (m.Target == All || m.Target == target) && t.Before(m.Until)
}

// Store keeps the mutes typed by users (adapters/store implements it).
type Store interface {
	AddMute(ctx context.Context, m Mute) (Mute, error)
	// EndMutes ends the active mutes of env for target (All or "":
	// every mute of env) at now, and says how many it ended.
	EndMutes(ctx context.Context, env, target string, now time.Time) (int, error)
	ActiveMutes(ctx context.Context, now time.Time) ([]Mute, error)
}

// Policy says what is muted: the mutes of the configuration and those
// in the store. The zero Policy mutes nothing.
type Policy struct {
	Configured []Mute
	Store      Store // nil: the configured mutes only
}

// Active returns the mutes in force at now, configured ones first.
func (p Policy) Active(ctx context.Context, now time.Time) ([]Mute, error) {
	var out []Mute
	for _, m := range p.Configured {
		if now.Before(m.Until) {
			out = append(out, m)
		}
	}
	if p.Store == nil {
		return out, nil
	}
	stored, err := p.Store.ActiveMutes(ctx, now)
	if err != nil {
		return out, fmt.Errorf("read mutes: %w", err)
	}
	return append(out, stored...), nil
}

// Muted says whether notifications about target in env are muted at now.
// With the store failing it still answers from the configured mutes, and
// returns the error.
func (p Policy) Muted(ctx context.Context, env, target string, now time.Time) (bool, error) {
	active, err := p.Active(ctx, now)
	return Covering(active, env, target, now), err
}

// Covering says whether one of mutes covers target in env at now.
func Covering(mutes []Mute, env, target string, now time.Time) bool {
	for _, m := range mutes {
		if m.Covers(env, target, now) {
			return true
		}
	}
	return false
}
