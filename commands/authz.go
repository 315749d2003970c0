package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mfbot/config"
)

// Via says which transport a request came through.
const (
	ViaConsole = "console"      // a local terminal: whoever runs it already holds the Docker socket
	ViaSocket  = "slack-socket" // Slack Socket Mode
	ViaHTTP    = "slack-http"   // Slack's signed HTTP requests
	ViaButton  = "button"       // a click on one of mfbot's buttons
)

// GroupResolver lists the members of a Slack user group (adapters/slack
// implements it, with a cache).
type GroupResolver interface {
	UsergroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// Role is what a user may do in an environment.
type Role int

const (
	RoleNone     Role = iota // not allowed to use mfbot here
	RoleViewer               // read-only commands
	RoleOperator             // mutating commands too, after confirmation
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleOperator:
		return "operator"
	}
	return "none"
}

// deniedError is a refusal: the reply says what is missing, nothing ran.
type deniedError struct{ msg string }

func (e *deniedError) Error() string { return e.msg }

// authorize decides whether user may run a command in env from channel.
// Console requests are trusted: the terminal already has the Docker socket.
func (c *Catalogue) authorize(ctx context.Context, env config.Environment, req Request, verbName string, mutating bool) error {
	if req.Via == ViaConsole {
		return nil
	}
	if len(env.Channels) > 0 && !slices.Contains(env.Channels, req.Channel) {
		return &deniedError{fmt.Sprintf("mfbot does not take commands for %s in this channel. Allowed channels: %s.", env.Name, strings.Join(env.Channels, ", "))}
	}
	role, err := c.roleOf(ctx, env, req.User)
	if err != nil {
		return err
	}
	if role == RoleNone {
		return &deniedError{fmt.Sprintf("%s needs the viewer role in %s, and you (%s) have no role there.", verbName, env.Name, req.User)}
	}
	if !mutating || role == RoleOperator || env.OpenMutations {
		return nil
	}
	if len(env.Operators) == 0 {
		return &deniedError{fmt.Sprintf("%s changes the stack and no operator is configured for %s (MFBOT_OPERATORS): mutating commands are refused.", verbName, env.Name)}
	}
	return &deniedError{fmt.Sprintf("%s needs the operator role in %s; you (%s) are a viewer.", verbName, env.Name, req.User)}
}

// roleOf resolves a user's role from IDs and user groups. Without a
// viewer list, everyone may read.
func (c *Catalogue) roleOf(ctx context.Context, env config.Environment, user string) (Role, error) {
	isOp, err := c.member(ctx, env.Operators, user)
	if err != nil {
		return RoleNone, err
	}
	if isOp {
		return RoleOperator, nil
	}
	if len(env.Viewers) == 0 {
		return RoleViewer, nil
	}
	isViewer, err := c.member(ctx, env.Viewers, user)
	if err != nil {
		return RoleNone, err
	}
	if isViewer {
		return RoleViewer, nil
	}
	return RoleNone, nil
}

// member says whether user is one of principals, directly or through a
// user group (S...). A group that cannot be listed counts as not matching
// only after the direct IDs were checked.
func (c *Catalogue) member(ctx context.Context, principals []string, user string) (bool, error) {
	if slices.Contains(principals, user) {
		return true, nil
	}
	var lookupErr error
	for _, p := range principals {
		if !strings.HasPrefix(p, "S") || c.groups == nil {
			continue
		}
		members, err := c.groups.UsergroupMembers(ctx, p)
		if err != nil {
			lookupErr = fmt.Errorf("list the members of user group %s: %w", p, err)
			continue
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, lookupErr
}
