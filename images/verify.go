package images

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// verifyImage reads every layer of img and checks it against the diff ID
// its config gives and, when compressed (an OCI layout's blobs, named by
// their digests), against the digest its manifest gives. A docker save
// tarball's layers are uncompressed, and their digests are computed, not
// given.
func verifyImage(img v1.Image, compressed bool) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("its config: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("its manifest: %v", err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(raw)); got != m.Config.Digest {
		return fmt.Errorf("its config does not match its digest %s: the tarball is damaged or altered", m.Config.Digest)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return fmt.Errorf("its manifest lists %d layers and its config %d", len(layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range layers {
		if compressed {
			want, err := l.Digest()
			if err != nil {
				return err
			}
			if err := checkBlob(l.Compressed, want, fmt.Sprintf("layer %d", i+1)); err != nil {
				return err
			}
		}
		if err := checkBlob(l.Uncompressed, cf.RootFS.DiffIDs[i], fmt.Sprintf("layer %d", i+1)); err != nil {
			return err
		}
	}
	return nil
}

func checkBlob(open func() (io.ReadCloser, error), want v1.Hash, what string) error {
	rc, err := open()
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	defer rc.Close()
	got, _, err := v1.SHA256(rc)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if got != want {
		return fmt.Errorf("%s does not match its digest %s: the tarball is damaged or altered", what, want)
	}
	return nil
}

// checkDigest checks that img's manifest is the one digest names.
func checkDigest(img v1.Image, want v1.Hash) error {
	got, err := img.Digest()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("its manifest does not match its digest %s: the tarball is damaged or altered", want)
	}
	return nil
}
