package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"mfbot/adapters/docker"
	"mfbot/adapters/monitorfish"
	"mfbot/adapters/postgres"
	"mfbot/adapters/prefect"
	"mfbot/adapters/registry"
	"mfbot/commands"
	"mfbot/config"
)

// app is the wired program: configuration, adapters, catalogue.
type app struct {
	Config    *config.Config
	Catalogue *commands.Catalogue
	Engines   map[string]*docker.Engine
	// Redactor is the one redactor of everything that leaves mfbot: the
	// Slack client, the console and the process's own logs use it.
	Redactor *commands.Redactor
	envs     []*commands.Environment
	closers  []func() error
}

// wire loads the configuration and connects the adapters. Connections are
// lazy: nothing is dialled until a command needs it. opts completes the
// catalogue's collaborators (store, Slack user groups) when the caller
// has them.
func wire(configPath string, log *slog.Logger) (*app, error) {
	cfg, err := config.Load(configPath, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	redactor, err := commands.NewRedactor(cfg.Redaction.Patterns)
	if err != nil {
		return nil, fmt.Errorf("redaction.patterns: %w", err)
	}
	a := &app{Config: cfg, Engines: map[string]*docker.Engine{}, Redactor: redactor}
	registries := registry.Client{Logins: map[string]registry.Login{}}
	for host, login := range cfg.Registries {
		registries.Logins[host] = registry.Login{Username: login.Username, Password: login.Password.Reveal()}
	}
	for _, e := range cfg.Environments {
		opts := docker.Options{Host: e.DockerHost}
		if t := e.DockerTLS; t != nil {
			opts.TLS = &docker.TLS{CA: t.CA, Cert: t.Cert, Key: t.Key, SkipVerify: !t.Verify}
		}
		engine, err := docker.New(opts)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("environment %s: %w", e.Name, err)
		}
		a.Engines[e.Name] = engine
		a.closers = append(a.closers, engine.Close)
		env := &commands.Environment{Config: e, Docker: engine, Registry: registries}
		if e.AppURL != "" {
			env.App = monitorfish.New(e.AppURL, 0)
		}
		if e.Database != nil {
			// A small lazy pool: nothing is dialled until a command or the
			// freshness watcher reads; it recovers by itself when the
			// database comes back.
			db, err := postgres.New(*e.Database, postgres.Options{})
			if err != nil {
				a.Close()
				return nil, fmt.Errorf("environment %s: %w", e.Name, err)
			}
			env.DB = db // never a typed nil: only set on success
			env.Positions = db
			a.closers = append(a.closers, func() error { db.Close(); return nil })
		}
		if e.Prefect != nil {
			api, err := prefect.New(prefect.FromConfig(*e.Prefect))
			if err != nil {
				a.Close()
				return nil, fmt.Errorf("environment %s: %w", e.Name, err)
			}
			env.Pipeline = api // never a typed nil: only set on success
		}
		a.envs = append(a.envs, env)
	}
	return a, nil
}

// buildCatalogue makes the command catalogue over the wired environments.
func (a *app) buildCatalogue(opts commands.Options) error {
	c, err := commands.New(a.Config, a.envs, opts)
	if err != nil {
		return err
	}
	a.Catalogue = c
	return nil
}

// onClose registers a resource to release with the app.
func (a *app) onClose(f func() error) { a.closers = append(a.closers, f) }

// Close releases everything, last opened first.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(errs...)
}
