package images

import (
	"encoding/json"
	"fmt"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImageConfig is what the runtime needs of an image to run it.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string // NAME=value, as the image sets them
	WorkingDir string   // "" means /
	User       string   // "" means root; the runtime runs the app as its own user anyway
	// ExposedPorts are the image's EXPOSE lines, sorted: "5000/tcp".
	ExposedPorts []string
	// Processes are the process types of LabelProcesses: those of a
	// release made by FromRelease. Nil when the image has no such label.
	Processes map[string]string
	Labels    map[string]string
}

// Config returns what the runtime needs of img's config.
func Config(img v1.Image) (ImageConfig, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return ImageConfig{}, fmt.Errorf("image config: %w", err)
	}
	c := cf.Config
	ic := ImageConfig{
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		Env:        c.Env,
		WorkingDir: c.WorkingDir,
		User:       c.User,
		Labels:     c.Labels,
	}
	for p := range c.ExposedPorts {
		ic.ExposedPorts = append(ic.ExposedPorts, p)
	}
	slices.Sort(ic.ExposedPorts)
	if procs, ok := c.Labels[LabelProcesses]; ok {
		if err := json.Unmarshal([]byte(procs), &ic.Processes); err != nil {
			return ImageConfig{}, fmt.Errorf("image config: label %s is not a JSON object of process types and commands: %v", LabelProcesses, err)
		}
	}
	return ic, nil
}
