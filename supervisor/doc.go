// Package supervisor is slipway's process layer: the one place that starts
// a process, whether a build step, the release phase, a web or worker
// instance or a cron job. It owns what every process gets (environment,
// working directory, TMPDIR, process group), where its output goes, how it
// is stopped (SIGTERM, a grace period, SIGKILL to the whole group, its
// TMPDIR removed) and how a long-running one is kept running (Supervised).
// It knows nothing of releases, pools or routing.
//
// Each of them starts through one launch (launch.go): run to completion
// (Run, a build step), long-running (Start) or on a terminal
// (Interactive). The package owns all that such a process is given and
// how it ends: its environment (AppEnv; hidden from the sandbox launcher,
// so that only the app's program sees it), its identity and its Landlock
// sandbox (Sandbox: a re-executed slipway, already running as the app's
// user, confines itself and then executes the command; see Reexec), a
// cgroup of its own on cgroups v1 or v2 with its limits (memory, cpu,
// pids), its output (a long-running one's own log file, copied line by
// line into the app log), its stop (the process group, then whatever is
// left in its cgroup), its supervision with backoff (Supervised) and its
// adoption by a later slipway (Running, Adopt). A long-running process may
// also run from an unpacked image (Spec.Image, image.go): the process is
// then `runc run`, started and confined the same way, whose container runs
// the image's command as the app. slipway's own tools (git, iptables and
// the like) are run by the packages that use them.
//
// Of slipway's packages it may import only the root package (the domain
// types) and leaf helpers under internal/ that import none of slipway's;
// the packages that start processes import it, never the other way round.
//
// Imports: slipway, internal/*.
package supervisor
