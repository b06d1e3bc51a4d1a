package builder

import "context"

// buildCustom runs the app's own build command, app.json scripts.build,
// with sh -c in the tree. It gets the common build environment; its HOME
// is in the app's cache directory, so whatever it keeps there survives to
// the next build.
func (s *session) buildCustom(ctx context.Context, script string) error {
	return s.run(ctx, command{
		step:   "scripts.build",
		header: "Running scripts.build: " + script,
		args:   []string{"sh", "-c", script},
		env:    s.env(),
	})
}
