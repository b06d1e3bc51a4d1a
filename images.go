package slipway

import (
	"context"
	"io"
	"time"
)

// slipway keeps an image registry of its own (the OCI distribution API, in
// DATA/registry): every release is an image NAME:vN there, the images an
// operator imports (images:import) are the bases a Dockerfile's FROM
// finds first, and other hosts and clusters pull from it with the admin
// token or a read-only pull token.

// ImageSummary is one tagged image of slipway's registry.
type ImageSummary struct {
	Repository string `json:"repository"` // "web" for a release of app web, "busybox" for an import
	Tag        string `json:"tag"`        // "v3", "latest"
	Digest     string `json:"digest"`     // of the manifest: sha256:…
	Size       int64  `json:"size"`       // bytes of its layers and config
	// App is set for a release's image: the app it belongs to.
	App string `json:"app,omitempty"`
}

// Ref is REPOSITORY:TAG.
func (s ImageSummary) Ref() string { return s.Repository + ":" + s.Tag }

// PullToken is a read-only credential of the registry: it may pull every
// image, push none. Only its label and creation time are kept with its
// hash; the token itself is shown once, when made.
type PullToken struct {
	Label   string    `json:"label"`
	Created time.Time `json:"created"`
}

// ImageService is the use cases on images, for the transports.
type ImageService interface {
	// ImportImage reads a `docker save` or OCI-layout tarball from r and
	// tags its images in the registry: as ref (NAME:TAG) when given (the
	// tarball must then hold one image), else as the tarball names them.
	// It says what it imported on out.
	ImportImage(ctx context.Context, ref string, r io.Reader, out io.Writer) error
	// ListImages lists every tagged image, imports and releases.
	ListImages(ctx context.Context) ([]ImageSummary, error)
	// CreatePullToken makes a read-only pull token labelled label and
	// returns it: the only time it is shown.
	CreatePullToken(ctx context.Context, label string) (string, error)
	// PullTokens lists the pull tokens' labels.
	PullTokens(ctx context.Context) ([]PullToken, error)
	// RevokePullToken removes the pull token labelled label.
	RevokePullToken(ctx context.Context, label string) error
	// SetBuilder sets how the app's pushes are built: "dockerfile" (its
	// Dockerfile, with buildah), "host" (detected, never the Dockerfile)
	// or "auto" (a Dockerfile at the root wins, as in Dokku).
	SetBuilder(ctx context.Context, app, builder string) error
	// DeployImage deploys image (NAME:TAG of slipway's registry) as the
	// app's next release, with history, health-gated as a push
	// (git:from-image, Dokku's name).
	DeployImage(ctx context.Context, app, image string, out io.Writer) error
}
