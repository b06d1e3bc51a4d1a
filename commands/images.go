package commands

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/slipway/slipway"
)

// The commands of slipway's image registry (images.go in the domain):
// they act on slipway as a whole, so only a key that may reach every app
// runs them (imageCommands in allowed).

// imageCommands are slipway-wide: admin keys only.
var imageCommands = []string{"images:list", "images:import", "registry:tokens", "registry:tokens:add", "registry:tokens:revoke"}

var imageTable = []Command{
	{"images:list", "images:list", "the images of slipway's registry: each release's NAME:vN and the imported ones, with digest and size", imagesList, nil},
	{Name: "images:import", Usage: "images:import [NAME:TAG] < image.tar", Help: "add the images of a `docker save` or OCI-layout tarball to slipway's registry (as NAME:TAG when given), for FROM lines and git:from-image", input: imagesImport},
	{"registry:tokens", "registry:tokens", "the registry's read-only pull tokens, by label", registryTokens, nil},
	{"registry:tokens:add", "registry:tokens:add LABEL", "make a read-only pull token (docker login HOST -u LABEL -p TOKEN) and print it, once", registryTokensAdd, nil},
	{"registry:tokens:revoke", "registry:tokens:revoke LABEL", "remove a pull token", registryTokensRevoke, nil},
	{"git:from-image", "git:from-image NAME IMAGE", "deploy an image of slipway's registry (NAME:TAG, see images:list) as the app's next release", gitFromImage, nil},
	{"builder:set", "builder:set NAME dockerfile|host|auto", "build the app's pushes from its Dockerfile (with buildah), on the host as detected, or auto: a Dockerfile at the root wins", builderSet, nil},
}

func imagesList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 0 {
		return usageError(u)
	}
	list, err := a.ListImages(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(out, "no images: a deploy adds NAME:vN, images:import adds others")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tDIGEST\tSIZE\tAPP")
	for _, im := range list {
		digest := im.Digest
		if len(digest) > 19 {
			digest = digest[:19] // sha256: and 12 hex digits, as docker shows
		}
		app := im.App
		if app == "" {
			app = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", im.Ref(), digest, slipway.HumanBytes(im.Size), app)
	}
	return tw.Flush()
}

func imagesImport(ctx context.Context, a Apps, u string, args []string, in io.Reader, out io.Writer) error {
	if len(args) > 1 || in == nil {
		return usageError(u)
	}
	ref := ""
	if len(args) == 1 {
		ref = args[0]
	}
	return a.ImportImage(ctx, ref, in, out)
}

func registryTokens(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 0 {
		return usageError(u)
	}
	list, err := a.PullTokens(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(out, "no pull tokens: registry:tokens:add LABEL makes one")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tCREATED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\n", t.Label, t.Created.Format("2006-01-02 15:04:05Z07:00"))
	}
	return tw.Flush()
}

func registryTokensAdd(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 1 {
		return usageError(u)
	}
	tok, err := a.CreatePullToken(ctx, args[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

func registryTokensRevoke(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 1 {
		return usageError(u)
	}
	if err := a.RevokePullToken(ctx, args[0]); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "pull token %s revoked\n", args[0])
	return err
}

func builderSet(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	if err := a.SetBuilder(ctx, args[0], args[1]); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "%s builds with %s from its next push\n", args[0], args[1])
	return err
}

func gitFromImage(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	return a.DeployImage(ctx, args[0], args[1], out)
}
