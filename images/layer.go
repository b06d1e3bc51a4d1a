package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerWriter writes a layer's tar once, gzip-compressed into memory,
// hashing the tar (the diff ID) and the gzip stream (the digest) as it
// goes. go-containerregistry's tarball.LayerFromOpener would read the
// source three times and compress it twice before a push.
type layerWriter struct {
	tw     *tar.Writer
	gz     *gzip.Writer
	buf    bytes.Buffer
	diffID hash.Hash
	digest hash.Hash
}

func newLayerWriter() *layerWriter {
	w := &layerWriter{diffID: sha256.New(), digest: sha256.New()}
	// BestSpeed: a release is pushed to a registry on the same host or
	// network, where compressing harder costs more time than it saves.
	w.gz, _ = gzip.NewWriterLevel(io.MultiWriter(&w.buf, w.digest), gzip.BestSpeed)
	w.tw = tar.NewWriter(io.MultiWriter(w.gz, w.diffID))
	return w
}

// layer closes the tar and returns it as a layer of media type mt.
func (w *layerWriter) layer(mt types.MediaType) (v1.Layer, error) {
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	if err := w.gz.Close(); err != nil {
		return nil, err
	}
	return partial.CompressedToLayer(&memLayer{
		data:   w.buf.Bytes(),
		digest: v1.Hash{Algorithm: "sha256", Hex: hexOf(w.digest)},
		diffID: v1.Hash{Algorithm: "sha256", Hex: hexOf(w.diffID)},
		mt:     mt,
	})
}

func hexOf(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// memLayer is a gzip-compressed layer held in memory with its hashes.
type memLayer struct {
	data           []byte
	digest, diffID v1.Hash
	mt             types.MediaType
}

func (l *memLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *memLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *memLayer) Size() (int64, error)     { return int64(len(l.data)), nil }
func (l *memLayer) MediaType() (types.MediaType, error) {
	return l.mt, nil
}
func (l *memLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.data)), nil
}
