// Package containers holds what mfbot knows of a Docker engine and its
// containers: the Engine interface that adapters/docker implements, and the
// values it returns. It imports nothing of mfbot.
package containers

import (
	"context"
	"errors"
	"strings"
	"time"
)

// ErrNoSuchContainer is wrapped by engines when a container does not exist.
var ErrNoSuchContainer = errors.New("no such container")

// ErrNoSuchImage is wrapped by engines when an image (or a tag in its
// registry) does not exist.
var ErrNoSuchImage = errors.New("no such image")

// ErrUnreachable is wrapped by engines when the engine cannot be used at
// all: it does not answer, answers too late, or refuses the TLS connection.
// The Docker watcher opens the environment's engine incident on it.
var ErrUnreachable = errors.New("Docker engine unreachable")

// Engine is what the command catalogue needs from one Docker engine. The
// adapters/docker package implements it; tests may use the real engine.
type Engine interface {
	// Containers lists every container of the engine, running or not.
	Containers(ctx context.Context) ([]Container, error)
	// Inspect returns the details of one container (env values not masked:
	// masking is a business rule applied by the catalogue).
	Inspect(ctx context.Context, id string) (ContainerDetails, error)
	// Logs streams log lines to sink, oldest first, in bounded memory.
	Logs(ctx context.Context, id string, q LogQuery, sink func(LogLine) error) error
	// Restart, Stop and Start act on one container.
	Restart(ctx context.Context, id string, timeout time.Duration) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Start(ctx context.Context, id string) error
	// Recreate replaces a container by a new one with identical
	// configuration, optionally pulling its image reference first.
	Recreate(ctx context.Context, id string, opts RecreateOptions) (RecreateResult, error)
	// Stats takes one sample of a container's resource usage.
	Stats(ctx context.Context, id string) (Stats, error)
	// Top lists the processes of a running container.
	Top(ctx context.Context, id string) (Processes, error)
	// Events returns the events since a time (until now), oldest first.
	Events(ctx context.Context, since time.Time, containerIDs []string) ([]Event, error)
	// Watch streams container events live from since (zero: from now),
	// oldest first, to sink until ctx ends (nil) or the stream breaks (an
	// error: the engine restarted, the connection dropped). A sink error
	// stops the stream and is returned.
	Watch(ctx context.Context, since time.Time, sink func(Event) error) error
	// DiskUsage is `docker system df`.
	DiskUsage(ctx context.Context) (DiskUsage, error)
	// Volumes lists volumes, with sizes when the engine knows them.
	Volumes(ctx context.Context) ([]Volume, error)
	// Image describes a local image.
	Image(ctx context.Context, ref string) (Image, error)
	// Images lists the local images (not the dangling intermediate ones),
	// each with its tags, digests, size and creation.
	Images(ctx context.Context) ([]Image, error)
	// RemoveImage removes a local image by reference (untags it) or ID,
	// never forcing: the engine refuses an image a container uses.
	RemoveImage(ctx context.Context, ref string) (ImageRemoval, error)
	// Pull pulls ref ("repo:tag") from its registry, reporting progress,
	// and returns the pulled image's ID. Errors of the registry (unknown
	// tag, refused login) come from the end of the engine's stream.
	Pull(ctx context.Context, ref string, opts PullOptions) (string, error)
	// RunOnce runs a one-off container to completion, streaming its output
	// (both streams, in order) to sink, then removes it. A non-zero exit
	// is not an error: RunResult.ExitCode says it.
	RunOnce(ctx context.Context, spec RunSpec, sink func(LogLine) error) (RunResult, error)
	// Version describes the engine.
	Version(ctx context.Context) (EngineVersion, error)
}

// Container is one line of `docker ps -a`.
type Container struct {
	ID      string
	Name    string // without the leading slash
	Image   string // the reference it was created from
	ImageID string
	State   string // running, exited, restarting, paused, created, dead
	Status  string // Docker's human status ("Up 3 minutes (healthy)")
	Health  string // healthy, unhealthy, starting, or "" when no healthcheck
	Created time.Time
	Labels  map[string]string
}

// ContainerDetails is the part of `docker inspect` the commands show.
type ContainerDetails struct {
	Container
	StartedAt     time.Time
	FinishedAt    time.Time
	ExitCode      int
	OOMKilled     bool
	RestartCount  int
	RestartPolicy string
	Tty           bool
	Env           []string // KEY=value, unmasked
	Cmd           []string
	Entrypoint    []string
	Mounts        []Mount
	Ports         []Port
	Networks      []string
	LogPath       string
	LogDriver     string
	HealthLog     []HealthCheck
	// MemoryLimit (bytes) and CPULimit (cores) are the limits the
	// container was created with (--memory, --cpus or a CPU quota); 0:
	// none. Stats cannot tell: without a limit the engine reports the
	// host's memory.
	MemoryLimit uint64
	CPULimit    float64
}

// Mount is a volume or bind mount.
type Mount struct {
	Type, Source, Destination string
	ReadOnly                  bool
}

// Port is a published port.
type Port struct {
	HostIP        string
	HostPort      string
	ContainerPort string // "8880/tcp"
}

// HealthCheck is one probe result.
type HealthCheck struct {
	Start    time.Time
	ExitCode int
	Output   string
}

// LogQuery selects log lines. Zero values mean "no bound".
type LogQuery struct {
	Tail  int // last N lines (0: all)
	Since time.Time
	Until time.Time
	// Stdout/Stderr select the streams; both false means both.
	Stdout, Stderr bool
}

// LogLine is one line of a container's output.
type LogLine struct {
	Stream string // "stdout" or "stderr" ("stdout" for TTY containers)
	Time   time.Time
	Text   string // without the trailing newline
}

// RecreateOptions tunes Recreate.
type RecreateOptions struct {
	// Pull pulls Image (or the container's own reference) before recreating.
	Pull bool
	// Image replaces the container's image reference; empty keeps it. An
	// image ID (sha256:...) is used for roll backs.
	Image string
	// StopTimeout bounds the stop of the old container.
	StopTimeout time.Duration
}

// RecreateResult reports what Recreate did.
type RecreateResult struct {
	OldID, NewID           string
	OldImageID, NewImageID string
	OldDigest, NewDigest   string // repo digest when known, else image ID
	Pulled                 bool
}

// Stats is one resource sample.
type Stats struct {
	CPUPercent       float64
	MemoryUsage      uint64
	MemoryLimit      uint64
	NetRx, NetTx     uint64
	BlockRead, Write uint64
	PIDs             uint64
}

// Processes is `docker top`.
type Processes struct {
	Titles    []string
	Processes [][]string
}

// Event is one Docker event about a container.
type Event struct {
	Time       time.Time
	Action     string // die, oom, health_status: unhealthy, start, stop, kill ...
	ID         string
	Name       string
	Attributes map[string]string
}

// DiskUsage is `docker system df`.
type DiskUsage struct {
	Rows []DiskUsageRow
}

// DiskUsageRow is one kind of object.
type DiskUsageRow struct {
	Kind        string // Images, Containers, Local Volumes, Build Cache
	Total       int
	Active      int
	Size        int64
	Reclaimable int64
}

// Volume is a Docker volume.
type Volume struct {
	Name, Driver, Mountpoint string
	Labels                   map[string]string
	Size                     int64 // -1 when unknown
	RefCount                 int64 // -1 when unknown
}

// Image describes a local image.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
	Created     time.Time
	Size        int64
	Labels      map[string]string
}

// EngineVersion describes a Docker engine.
type EngineVersion struct {
	Version, APIVersion, OS, Arch, KernelVersion string
}

// PullOptions tunes Pull.
type PullOptions struct {
	// Auth logs in to the image's registry; nil: anonymous.
	Auth *RegistryAuth
	// Progress, when set, is called as the pull advances (often: callers
	// throttle what they show).
	Progress func(PullProgress)
}

// RegistryHost is the registry of an image reference or repository, as
// Docker reads it: the first path element when it looks like a host (a
// dot, a port, localhost), else Docker Hub ("docker.io").
func RegistryHost(ref string) string {
	first, _, found := strings.Cut(ref, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return DockerHub
}

// DockerHub is RegistryHost's name for Docker Hub.
const DockerHub = "docker.io"

// RegistryAuth is a registry login (basic auth, or a token as password).
type RegistryAuth struct {
	Username, Password string
}

// PullProgress is how far a pull got: the bytes downloaded over the
// layers whose size the engine announced, and their total.
type PullProgress struct {
	Done, Total int64
	// Layers counts the layers seen, Pulled those complete or already there.
	Layers, Pulled int
}

// RunSpec is a one-off container, run to completion then removed, like
// `docker run --rm --network host --env-file F -e K=V image cmd...`.
type RunSpec struct {
	// Name of the container ("" lets the engine pick one).
	Name  string
	Image string
	// Cmd replaces the image's command when not empty.
	Cmd []string
	// EnvFile is read like docker's --env-file (KEY=VALUE lines, # comments,
	// a bare KEY takes mfbot's own value); Env comes after it and wins.
	EnvFile string
	Env     []string
	// Binds are bind mounts, "host-path:container-path[:ro|rw]".
	Binds []string
	// Network is the network mode: "host", "bridge", a network's name; ""
	// is the engine's default.
	Network string
	Labels  map[string]string
	// Timeout bounds the run; the container is killed and removed after it.
	Timeout time.Duration
}

// RunResult is the outcome of RunOnce.
type RunResult struct {
	ContainerID string
	ExitCode    int
	Took        time.Duration
}

// ImageRemoval reports what RemoveImage deleted.
type ImageRemoval struct {
	Untagged []string // references untagged
	Deleted  []string // image and layer IDs deleted
}
