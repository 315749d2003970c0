package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"mfbot/adapters/docker"
	"mfbot/adapters/monitorfish"
	"mfbot/commands"
	"mfbot/config"
)

// app is the wired program: configuration, adapters, catalogue.
type app struct {
	Config    *config.Config
	Catalogue *commands.Catalogue
	Engines   map[string]*docker.Engine
}

// wire loads the configuration and connects the adapters. Connections are
// lazy: nothing is dialled until a command needs it.
func wire(configPath string, log *slog.Logger) (*app, error) {
	cfg, err := config.Load(configPath, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	a := &app{Config: cfg, Engines: map[string]*docker.Engine{}}
	envs := make([]*commands.Environment, 0, len(cfg.Environments))
	for _, e := range cfg.Environments {
		opts := docker.Options{Host: e.DockerHost}
		if e.DockerTLS != nil {
			opts.CAPath, opts.CertPath, opts.KeyPath = e.DockerTLS.CA, e.DockerTLS.Cert, e.DockerTLS.Key
		}
		engine, err := docker.New(opts)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("environment %s: %w", e.Name, err)
		}
		a.Engines[e.Name] = engine
		env := &commands.Environment{Config: e, Docker: engine}
		if e.AppURL != "" {
			env.App = monitorfish.New(e.AppURL, 0)
		}
		envs = append(envs, env)
	}
	a.Catalogue, err = commands.New(cfg, envs, commands.Options{Log: log})
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the engines' connections.
func (a *app) Close() error {
	var errs []error
	for _, e := range a.Engines {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}
