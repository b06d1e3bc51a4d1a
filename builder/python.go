package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// venvDir is where a Python app's virtualenv lives, inside the release.
const venvDir = ".venv"

// pythonNoWeb is the failure of a Python app without a Procfile web line:
// there is no command slipway could guess.
const pythonNoWeb = "no web process: Python apps have no default web command: add a Procfile line such as web: gunicorn app:app"

// buildPython creates a virtualenv in the release and installs the app's
// requirements into it (or the app itself, for a pyproject.toml). pip's
// cache lives under HOME, in the app's cache directory.
func (s *session) buildPython(ctx context.Context) error {
	// An index that cannot be reached fails within seconds, not after
	// pip's five retries.
	env := s.env(append([]string{"PIP_DISABLE_PIP_VERSION_CHECK=1"}, s.unlessSet("PIP_RETRIES=1", "PIP_TIMEOUT=5")...)...)
	err := s.run(ctx, command{
		step:   "python3 -m venv",
		header: "Running python3 -m venv " + venvDir,
		args:   []string{"python3", "-m", "venv", venvDir},
		env:    env,
	})
	if err != nil {
		return err
	}
	// python -m pip rather than bin/pip: a script's shebang has a length
	// limit that a deep DataDir can exceed.
	python := filepath.Join(s.tmp, venvDir, "bin", "python")
	args, shown := []string{python, "-m", "pip", "install", "--no-input", "-r", "requirements.txt"}, "-r requirements.txt"
	if !isFile(filepath.Join(s.tmp, "requirements.txt")) {
		args, shown = []string{python, "-m", "pip", "install", "--no-input", "."}, "."
	}
	return s.run(ctx, command{
		step:   "pip install",
		header: "Running pip install " + shown,
		args:   args,
		env:    env,
		hint:   indexHint(s.req.App, "PIP_INDEX_URL"),
	})
}

// relocateVenv rewrites the virtualenv venv, created at from, to work at
// to: the shebangs and activate scripts in bin/ and pyvenv.cfg name the
// directory it was created in. from contains a random temporary name, so
// replacing it everywhere it appears is safe.
func relocateVenv(venv, from, to string) error {
	files := []string{filepath.Join(venv, "pyvenv.cfg")}
	entries, err := os.ReadDir(filepath.Join(venv, "bin"))
	if err != nil {
		return fmt.Errorf("relocate virtualenv: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(venv, "bin", e.Name()))
		}
	}
	for _, f := range files {
		if err := replaceInFile(f, []byte(from), []byte(to)); err != nil {
			return fmt.Errorf("relocate virtualenv: %w", err)
		}
	}
	return nil
}

// replaceInFile replaces from with to in the text file name, keeping its
// mode. Binary files and missing files are left alone.
func replaceInFile(name string, from, to []byte) error {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if bytes.IndexByte(data, 0) >= 0 || !bytes.Contains(data, from) {
		return nil
	}
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	return os.WriteFile(name, bytes.ReplaceAll(data, from, to), fi.Mode().Perm())
}
