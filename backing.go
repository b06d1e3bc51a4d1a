package slipway

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"time"
)

// A backing service is a database server of its own for apps to use: a
// PostgreSQL or Redis server started from the host's own binaries (its
// distribution's packages), one server process per service, as Dokku runs
// one container per service. It has its own uid, data dir
// (DATA/services/NAME), cgroup and limits, listens only on loopback with a
// generated password, and is linked to apps by a config var holding its
// URL (DATABASE_URL, REDIS_URL). Its process is started, limited, adopted
// after a restart of slipway and stopped by the process layer like an
// app's instance; its use cases are the application layer's.

// ServiceKind is what a service runs.
type ServiceKind string

const (
	Postgres ServiceKind = "postgres"
	Redis    ServiceKind = "redis"
)

// ServiceKinds lists every kind, in the order help shows them.
var ServiceKinds = []ServiceKind{Postgres, Redis}

// LinkVar is the config var a link of the kind sets on an app: the first
// link of a kind gets the plain name (DATABASE_URL, REDIS_URL), a second
// one of the same kind DATABASE_<NAME>_URL, REDIS_<NAME>_URL, with the
// service's name upper-cased and its dashes made underscores.
func (k ServiceKind) LinkVar(service string, first bool) string {
	base := "DATABASE"
	if k == Redis {
		base = "REDIS"
	}
	if first {
		return base + "_URL"
	}
	b := []byte(service)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '-':
			b[i] = '_'
		}
	}
	return base + "_" + string(b) + "_URL"
}

// serviceName is the shape of a service's name: an app's (ValidateAppName).
var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)

// ValidateServiceName checks a service's name: lower-case letters, digits
// and dashes, starting with a letter, at most 30 bytes (it names a
// directory, a database and a user).
func ValidateServiceName(name string) error {
	if !serviceName.MatchString(name) {
		return Errorf(EINVALID, "invalid service name %q: use lower-case letters, digits and dashes, starting with a letter (at most 30)", OneLine(name, 40))
	}
	return nil
}

// BackingService is a service as the history keeps it.
type BackingService struct {
	Name    string
	Kind    ServiceKind
	Version string // the server's major version: "15" for PostgreSQL 15, "7" for Redis 7
	UID     int    // its own user when slipway is root; 0 otherwise
	Port    int    // on 127.0.0.1
	// Password is the one credential: the superuser's for PostgreSQL
	// (user postgres, database NAME), requirepass for Redis. Only the
	// apps linked to the service get it, in their config.
	Password string
	// Stopped is set by SERVICE:stop and cleared by SERVICE:start: a
	// stopped service stays stopped across restarts of slipway.
	Stopped bool
	// BackupSchedule is a cron spec ("0 3 * * *"), "" for none, and
	// BackupKeep how many scheduled backups are kept.
	BackupSchedule string
	BackupKeep     int
	// Limits bound its server (resources:set NAME); the zero value sets
	// none but the default pids limit.
	Limits    Limits
	CreatedAt time.Time
	// Running is its server process as the process layer recorded it, for
	// the slipway that adopts it; zero when none runs.
	Running ServiceProcess
}

// URL is the connection URL the service's links set: with the password,
// or with it masked.
func (s *BackingService) URL(reveal bool) string {
	pw := s.Password
	if !reveal {
		pw = "********"
	}
	if s.Kind == Redis {
		return fmt.Sprintf("redis://:%s@127.0.0.1:%d", pw, s.Port)
	}
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s", pw, s.Port, s.Name)
}

// ServiceProcess names a service's running server process as an instance
// is recorded (InstanceRecord): enough for a later slipway to adopt it.
type ServiceProcess struct {
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"`
	Cgroup     string `json:"cgroup,omitempty"`
	TmpDir     string `json:"tmp_dir,omitempty"`
	LogOffset  int64  `json:"log_offset"`
}

// ServiceLink is one app linked to a service through config var Var.
type ServiceLink struct {
	Service string `json:"service"`
	App     string `json:"app"`
	Var     string `json:"var"`
}

// ServiceUpdate is a patch to a service (ServiceStore.UpdateService): the
// fields that are not nil are set.
type ServiceUpdate struct {
	Stopped        *bool
	BackupSchedule *string
	BackupKeep     *int
	Limits         *Limits
	Running        *ServiceProcess
}

// ServiceStore keeps the services and their links (package sqlite).
type ServiceStore interface {
	// CreateService records s, allocating its uid from uids (the apps'
	// range: a uid is never given twice) when uids.Count > 0, and sets
	// s.UID and s.CreatedAt. ECONFLICT when a service of that name exists.
	CreateService(ctx context.Context, s *BackingService, uids UIDRange) error
	// FindService returns one service; ENOTFOUND ("no service named …")
	// when there is none.
	FindService(ctx context.Context, name string) (*BackingService, error)
	// ListServices returns every service, sorted by name.
	ListServices(ctx context.Context) ([]*BackingService, error)
	// UpdateService applies u in one transaction (ENOTFOUND if none).
	UpdateService(ctx context.Context, name string, u ServiceUpdate) (*BackingService, error)
	// DeleteService removes the service; ECONFLICT while it has links.
	DeleteService(ctx context.Context, name string) error
	// AddServiceLink records a link; ECONFLICT when the app is linked to
	// the service already, ENOTFOUND for an unknown app or service.
	AddServiceLink(ctx context.Context, l ServiceLink) error
	// RemoveServiceLink removes it; ENOTFOUND when there is no such link.
	RemoveServiceLink(ctx context.Context, service, app string) error
	// ServiceLinks returns the service's links ("" for every service's),
	// sorted by service then app.
	ServiceLinks(ctx context.Context, service string) ([]ServiceLink, error)
	// AppServiceLinks returns the links of one app, sorted by service.
	AppServiceLinks(ctx context.Context, app string) ([]ServiceLink, error)
}

// BackupInfo is one backup of a service: a file in
// DATA/services/NAME/backups.
type BackupInfo struct {
	Name  string    `json:"name"` // NAME-20261207T031500Z.dump, .rdb
	Size  int64     `json:"size"`
	Taken time.Time `json:"taken"`
}

// ServiceStatus is a service as SERVICE:list, SERVICE:info, the admin
// page and /metrics show it.
type ServiceStatus struct {
	Name    string      `json:"name"`
	Kind    ServiceKind `json:"kind"`
	Version string      `json:"version"`
	// State is up, starting, crashed or stopped (the states of an app's
	// processes).
	State    string        `json:"state"`
	PID      int           `json:"pid,omitempty"`
	Since    time.Time     `json:"since"`
	Restarts int           `json:"restarts"`
	Size     int64         `json:"size"` // of its data dir, in bytes
	Links    []ServiceLink `json:"links"`
	// URL is masked unless asked for (--reveal).
	URL            string      `json:"url"`
	LastBackup     *BackupInfo `json:"last_backup,omitempty"`
	BackupSchedule string      `json:"backup_schedule,omitempty"`
	BackupKeep     int         `json:"backup_keep,omitempty"`
	Limits         Limits      `json:"limits"`
}

// BackingServices is every use case on services that the transports call
// (the SERVICE:* commands; SERVICE is postgres or redis). Package apps
// implements it. A name of a service of the other kind is ENOTFOUND with
// a message that says which kind it is.
type BackingServices interface {
	// CreateService initialises a service's data dir and starts it; version
	// "" takes the newest the host has.
	CreateService(ctx context.Context, kind ServiceKind, name, version string, out io.Writer) error
	// LinkService sets the service's URL on the app (a config release,
	// health-gated like any) and returns the var it set.
	LinkService(ctx context.Context, kind ServiceKind, name, app string, out io.Writer) (string, error)
	// UnlinkService removes the var (a config release).
	UnlinkService(ctx context.Context, kind ServiceKind, name, app string, out io.Writer) error
	Services(ctx context.Context, kind ServiceKind) ([]ServiceStatus, error)
	Service(ctx context.Context, kind ServiceKind, name string, reveal bool) (*ServiceStatus, error)
	ServiceLogs(ctx context.Context, kind ServiceKind, name string, opt LogOptions, out io.Writer) error
	RestartService(ctx context.Context, kind ServiceKind, name string, out io.Writer) error
	StopService(ctx context.Context, kind ServiceKind, name string, out io.Writer) error
	StartService(ctx context.Context, kind ServiceKind, name string, out io.Writer) error
	// ConnectService runs the kind's client (psql, redis-cli) on t.
	ConnectService(ctx context.Context, kind ServiceKind, name string, t Terminal) (int, error)
	// ExportService writes a dump to out (PostgreSQL: pg_dump -Fc);
	// ImportService restores one read from in (pg_restore).
	ExportService(ctx context.Context, kind ServiceKind, name string, out io.Writer) error
	ImportService(ctx context.Context, kind ServiceKind, name string, in io.Reader, out io.Writer) error
	BackupService(ctx context.Context, kind ServiceKind, name string, out io.Writer) (BackupInfo, error)
	ServiceBackups(ctx context.Context, kind ServiceKind, name string) ([]BackupInfo, error)
	RestoreService(ctx context.Context, kind ServiceKind, name, backup string, out io.Writer) error
	// ScheduleBackups sets the backup schedule (a cron spec; "" or "off"
	// for none) and how many scheduled backups are kept.
	ScheduleBackups(ctx context.Context, kind ServiceKind, name, spec string, keep int, out io.Writer) error
	// DestroyService stops the service and removes its data; refused
	// (ECONFLICT) while an app is linked to it.
	DestroyService(ctx context.Context, kind ServiceKind, name string, out io.Writer) error
}
