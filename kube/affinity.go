package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// affinityKeyLen is the length of the affinity cookies' key.
const affinityKeyLen = 32

// affinityPoll is how often AffinityKey looks again for a Secret the
// control plane has not made yet.
const affinityPoll = time.Second

// EnsureAffinityKey makes the Secret RouterSecret holding key, which every
// router replica signs and checks affinity cookies with, unless it exists:
// a key in use is never replaced (the sessions it signed would flip), and
// a Secret of that name that is not slipway's is an error, never changed.
func EnsureAffinityKey(ctx context.Context, client *Client, namespace string, key []byte) error {
	if len(key) != affinityKeyLen {
		return fmt.Errorf("affinity key: want %d bytes, have %d", affinityKeyLen, len(key))
	}
	secrets := client.CoreV1().Secrets(namespace)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: RouterSecret, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{KeyAffinityKey: key},
	}
	_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create the Secret %s/%s: %w", namespace, RouterSecret, err)
		}
		return nil
	}
	_, err = readAffinityKey(ctx, client, namespace)
	return err
}

// AffinityKey returns the key of the Secret RouterSecret, waiting until
// ctx ends for the control plane to make it (EnsureAffinityKey).
func AffinityKey(ctx context.Context, client *Client, namespace string) ([]byte, error) {
	t := time.NewTicker(affinityPoll)
	defer t.Stop()
	for {
		key, err := readAffinityKey(ctx, client, namespace)
		if !apierrors.IsNotFound(err) {
			return key, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no Secret %s/%s yet (slipway serve --scheduler kubernetes makes it): %w", namespace, RouterSecret, ctx.Err())
		case <-t.C:
		}
	}
}

// readAffinityKey reads the key of the Secret RouterSecret; an error
// that IsNotFound when there is none.
func readAffinityKey(ctx context.Context, client *Client, namespace string) ([]byte, error) {
	s, err := client.CoreV1().Secrets(namespace).Get(ctx, RouterSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("read the Secret %s/%s: %w", namespace, RouterSecret, err)
	case s.Labels[LabelManagedBy] != ManagedBy:
		return nil, fmt.Errorf("the Secret %s/%s is not slipway's (no %s=%s label): remove it, slipway makes its own", namespace, RouterSecret, LabelManagedBy, ManagedBy)
	case len(s.Data[KeyAffinityKey]) != affinityKeyLen:
		return nil, fmt.Errorf("the Secret %s/%s: its %s has %d bytes, not %d", namespace, RouterSecret, KeyAffinityKey, len(s.Data[KeyAffinityKey]), affinityKeyLen)
	}
	return s.Data[KeyAffinityKey], nil
}
