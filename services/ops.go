package services

import (
	"context"
	"fmt"
	"io"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// Export writes a dump of svc's data to w: PostgreSQL's pg_dump -Fc, which
// Import and pg_restore read.
func Export(ctx context.Context, h Host, svc *slipway.BackingService, w io.Writer) error {
	if svc.Kind != slipway.Postgres {
		return slipway.Errorf(slipway.EINVALID, "%s is a %s service: %s:backup %s takes its snapshot", svc.Name, svc.Kind, svc.Kind, svc.Name)
	}
	return postgres{}.Dump(ctx, h, svc, w)
}

// Import restores a dump read from r (what Export or pg_dump -Fc wrote)
// into svc's database, in one transaction: a dump that is not one, or
// fails half way, changes nothing.
func Import(ctx context.Context, h Host, svc *slipway.BackingService, r io.Reader) error {
	if svc.Kind != slipway.Postgres {
		return slipway.Errorf(slipway.EINVALID, "%s is a %s service: %s:restore %s BACKUP restores a snapshot", svc.Name, svc.Kind, svc.Kind, svc.Name)
	}
	err := postgres{}.Load(ctx, h, svc, svc.Name, r)
	if slipway.ErrorCode(err) == slipway.EINVALID {
		return slipway.Errorf(slipway.EINVALID, "import into %s failed and changed nothing: %s (give it what postgres:export or pg_dump -Fc wrote)", svc.Name, slipway.ErrorMessage(err))
	}
	return err
}

// Restore makes svc's data what the backup at path holds, and says what
// it did to the apps' connections. PostgreSQL's is restored beside the
// live database and swapped in; Redis's server is stopped, given the
// snapshot and started again.
func Restore(ctx context.Context, rt *Runtime, h Host, svc *slipway.BackingService, path string) (string, error) {
	switch svc.Kind {
	case slipway.Postgres:
		if _, ok := rt.Info(svc.Name); !ok {
			return "", slipway.Errorf(slipway.EINVALID, "%s is stopped: postgres:start %s first", svc.Name, svc.Name)
		}
		closed, err := postgres{}.Restore(ctx, h, svc, path)
		if err != nil {
			return "", err
		}
		conns := "no connection was open at the swap"
		switch closed {
		case 0:
		case 1:
			conns = "the 1 connection open at the swap was closed, and the apps' next ones reach the restored data"
		default:
			conns = fmt.Sprintf("the %d connections open at the swap were closed, and the apps' next ones reach the restored data", closed)
		}
		return "restored into a database of its own while the apps ran, then swapped in; " + conns, nil
	case slipway.Redis:
		if err := checkRDB(path); err != nil {
			return "", slipway.Errorf(slipway.EINVALID, "%s: %v", path, err)
		}
		_, running := rt.Info(svc.Name)
		rt.Stop(svc.Name)
		if err := (redis{}).Restore(h, svc, path); err != nil {
			if running {
				rt.Start(context.WithoutCancel(ctx), h, svc)
			}
			return "", err
		}
		if !running && svc.Stopped {
			return "the snapshot is in place; the service stays stopped until redis:start", nil
		}
		if err := rt.Start(ctx, h, svc); err != nil {
			return "", err
		}
		return "the server was stopped, given the snapshot and started again: the apps' connections were closed for that moment", nil
	}
	return "", slipway.Errorf(slipway.EINVALID, "unknown kind of service %q", svc.Kind)
}

// Connect runs the kind's interactive client (psql, redis-cli) for svc on
// t, as the service's user, and returns its exit status.
func Connect(ctx context.Context, h Host, svc *slipway.BackingService, t slipway.Terminal) (int, error) {
	srv, err := For(svc.Kind)
	if err != nil {
		return 0, err
	}
	argv, env, err := srv.Client(h, svc)
	if err != nil {
		return 0, err
	}
	spec := supervisor.Spec{
		ID:      "connect",
		Dir:     h.Layout.ServiceData(svc.Name),
		Env:     h.env(svc, env...),
		TmpDir:  h.Layout.ServiceTmp(svc.Name) + "-connect",
		LogPath: h.Layout.ServiceLog(svc.Name),
		Sandbox: h.toolSandbox(svc),
	}
	return supervisor.Interactive(ctx, spec, argv, t)
}
