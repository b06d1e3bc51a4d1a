package releaser

import (
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/router"
	"github.com/slipway/slipway/supervisor"
)

// instance is one web instance of a pool: a supervised process listening
// on its port, and the router's view of it.
type instance struct {
	id    string // "web.1"
	port  int
	sup   *supervisor.Supervised
	route *router.Instance
}

// probeTarget is what a health check of the running instance probes.
func probeTarget(in *instance) target { return target{in.sup.Current(), in.port} }

// stop takes the instance out of rotation and stops its process.
func (in *instance) stop() { in.sup.Stop() }

// worker is one supervised instance of a non-web process type; the router
// never sees it.
type worker struct {
	typ string // "worker"
	sup *supervisor.Supervised
}

// processSpec describes process id of spec's release for the process
// layer; port is the one it may listen on, 0 for processes that are not
// routed.
func (r *Releaser) processSpec(spec Spec, id, command string, port int) (supervisor.Spec, error) {
	sb, err := r.sandbox(spec, id, port)
	if err != nil {
		return supervisor.Spec{}, fmt.Errorf("sandbox of %s: %w", spec.App, err)
	}
	ps := supervisor.Spec{
		ID:      id,
		Command: command,
		Dir:     spec.Dir,
		Env:     r.env(spec, id, port),
		Sandbox: sb,
		TmpDir:  r.layout.Tmp(spec.App, spec.Version, id),
		LogPath: r.layout.ProcessLog(spec.App, spec.Version, id),
		AppLog:  r.appLog(spec.App),
		Release: spec.Version.String(),
	}
	if spec.Image != nil {
		ps.Image = imageRun(spec.Image, command, r.home(spec.App))
		for i, kv := range ps.Env {
			if strings.HasPrefix(kv, "HOME=") {
				ps.Env[i] = "HOME=" + imageHome
			}
		}
	}
	return ps, nil
}

// imageHome is where an image release's processes find the app's HOME.
const imageHome = "/home/app"

// imageRun is how a process of an image release runs: a Procfile command
// with the image's /bin/sh, else the image's own ENTRYPOINT and CMD, with
// the app's HOME mounted writable.
func imageRun(im *ImageSpec, command, home string) *supervisor.ImageRun {
	args := im.DefaultArgs()
	if command != "" && command != im.DefaultCommand() {
		args = []string{"/bin/sh", "-c", command}
	}
	return &supervisor.ImageRun{
		Rootfs:  im.Rootfs,
		Args:    args,
		WorkDir: im.WorkDir,
		Env:     im.Env,
		Mounts:  []supervisor.ImageMount{{Source: home, Destination: imageHome}},
	}
}

// OneOff reports whether cgroup, the name of a process's cgroup that
// sandbox gave (PREFIX+APP-vN-ID.STAMP), is a cron run's or a one-off
// run's: those are not recorded, and finish on their own.
func OneOff(cgroup string) bool {
	return strings.Contains(cgroup, "-cron.") || strings.Contains(cgroup, "-run.")
}

// sandbox returns the sandbox of a process of spec's release: its
// identity from Config.Sandbox, the release to read, HOME to write and
// the port to listen on. Nil when processes run unconfined.
func (r *Releaser) sandbox(spec Spec, id string, port int) (*supervisor.Sandbox, error) {
	if r.cfg.Sandbox == nil {
		return nil, nil
	}
	typ, _, _ := strings.Cut(id, ".")
	base, err := r.cfg.Sandbox(spec.App, typ)
	if err != nil {
		return nil, err
	}
	sb := *base
	if sb.Cgroup != "" {
		sb.Cgroup += "-" + spec.Version.String() + "-" + id
	}
	sb.Read = append(slices.Clone(sb.Read), spec.Dir)
	sb.Write = append(slices.Clone(sb.Write), r.home(spec.App))
	if port > 0 {
		sb.Ports = append(slices.Clone(sb.Ports), port)
	}
	return &sb, nil
}

// env is the environment of process id of spec's release; port is 0 for
// processes that are not routed.
func (r *Releaser) env(spec Spec, id string, port int) []string {
	vars := []string{
		"SLIPWAY_APP=" + spec.App,
		"SLIPWAY_RELEASE=" + spec.Version.String(),
		"SLIPWAY_COMMIT=" + spec.Commit,
	}
	vars = append(vars, slipway.EnvList(spec.Env)...)
	vars = append(vars, "DYNO="+id)
	if port > 0 {
		vars = append(vars, "PORT="+strconv.Itoa(port))
	}
	return supervisor.AppEnv(r.home(spec.App), spec.Path, vars...)
}

// Instance ports come from below Linux's default ephemeral range
// (32768-60999), so that the kernel does not hand the port an instance is
// about to bind to an outgoing connection in between (the router's own
// connections to instances use ephemeral ports).
const (
	portMin = 20000
	portMax = 32767
)

// freePort returns a loopback port in [portMin, portMax] that nothing
// listens on, starting the search at a random place. Another process could
// still take it before the instance binds it; the health check then fails
// and the deploy is refused, which is safe.
func freePort() (int, error) {
	start := portMin + rand.IntN(portMax-portMin+1)
	for i := 0; i <= portMax-portMin; i++ {
		p := portMin + (start-portMin+i)%(portMax-portMin+1)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port between %d and %d", portMin, portMax)
}
