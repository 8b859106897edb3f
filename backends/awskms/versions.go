package awskms

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
)

// Key versions through aliases (docs/backends/awskms.md, "Key versions").
// KMS rotates only symmetric keys by itself (and local-kms has no
// RotateKeyOnDemand), so each version is a KMS key of its own:
//
//	alias/<label>        the primary version (UpdateAlias on each Rotate)
//	alias/<label>/v<n>   version n (made by the first Rotate for version 1)
//
// and the minimum version is the tag keyplane-min-version on the primary
// key. A key with no version alias is unversioned: version 1.

var _ backend.KeyVersions = (*Backend)(nil)

const minVersionTag = "keyplane-min-version"

// versionAliasRE splits a version alias: labels contain no "/", and the
// base32 of an encoded label neither, so "/v<n>" at the end is a version.
var versionAliasRE = regexp.MustCompile(`^(alias/.+)/v([1-9][0-9]{0,4})$`)

func versionAlias(alias string, n int) string { return alias + "/v" + strconv.Itoa(n) }

// splitVersionAlias returns the key alias and version of a version alias.
func splitVersionAlias(name string) (alias string, n int, ok bool) {
	m := versionAliasRE.FindStringSubmatch(name)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(m[2])
	return m[1], n, err == nil
}

// keyAliases lists the alias names of a key.
func (b *Backend) keyAliases(ctx context.Context, keyID string) ([]string, error) {
	var names []string
	p := kms.NewListAliasesPaginator(b.client, &kms.ListAliasesInput{KeyId: aws.String(keyID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("ListAliases", err)
		}
		for _, a := range page.Aliases {
			names = append(names, aws.ToString(a.AliasName))
		}
	}
	return names, nil
}

// keyVersion is where one KMS key stands among its key's versions.
type keyVersion struct {
	alias     string // alias/<label>: the primary
	n         int    // this KMS key's version
	versioned bool   // the key has version aliases
}

// versionOf finds the version of the KMS key ki (of the key labelled
// label) from its aliases.
func (b *Backend) versionOf(ctx context.Context, ki *keyInfo, label string) (keyVersion, error) {
	alias, err := aliasFor(label)
	if err != nil {
		return keyVersion{}, err
	}
	names, err := b.keyAliases(ctx, ki.keyID)
	if err != nil {
		return keyVersion{}, err
	}
	kv := keyVersion{alias: alias, n: 1}
	for _, name := range names {
		if base, n, ok := splitVersionAlias(name); ok && base == alias {
			kv.n, kv.versioned = n, true
		}
	}
	return kv, nil
}

// primary describes the primary version of the key with alias: its facts
// and version.
func (b *Backend) primary(ctx context.Context, alias, label string) (*keyInfo, keyVersion, *types.KeyMetadata, error) {
	out, err := b.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		return nil, keyVersion{}, nil, fmt.Errorf("key %q: %w", label, classify("DescribeKey", err))
	}
	ki, err := b.info(ctx, out.KeyMetadata)
	if err != nil {
		return nil, keyVersion{}, nil, err
	}
	kv, err := b.versionOf(ctx, ki, label)
	return ki, kv, out.KeyMetadata, err
}

// versionedKey is a key reference as the key-version methods see it: the
// key's label and its primary version (the KMS key alias/<label> names).
type versionedKey struct {
	label      string
	primary    *keyInfo
	meta       *types.KeyMetadata // the primary's
	keyVersion                    // the primary's: alias/<label>, its version, whether the key is versioned
}

// resolveVersioned resolves ref to its key's label and describes the
// primary version through the key's aliases. A KMS key without an alias
// has no label: unaliased makes the error for it; with unaliased nil,
// aliasFor refuses the empty label (ErrInvalidInput).
func (b *Backend) resolveVersioned(ctx context.Context, ref string, unaliased func() error) (versionedKey, error) {
	_, label, err := b.resolve(ctx, ref)
	if err != nil {
		return versionedKey{}, err
	}
	if label == "" && unaliased != nil {
		return versionedKey{}, unaliased()
	}
	alias, err := aliasFor(label)
	if err != nil {
		return versionedKey{}, err
	}
	p, kv, md, err := b.primary(ctx, alias, label)
	if err != nil {
		return versionedKey{}, err
	}
	return versionedKey{label: label, primary: p, meta: md, keyVersion: kv}, nil
}

// minVersion reads the minimum version tag of the primary key (0: none).
func (b *Backend) minVersion(ctx context.Context, primaryID string) (int, error) {
	out, err := b.client.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(primaryID)})
	if err != nil {
		return 0, classify("ListResourceTags", err)
	}
	for _, t := range out.Tags {
		if aws.ToString(t.TagKey) == minVersionTag {
			n, err := strconv.Atoi(aws.ToString(t.TagValue))
			if err != nil || n < 0 {
				return 0, fmt.Errorf("awskms: key %s has a malformed %s tag: %w", primaryID, minVersionTag, backend.ErrUnavailable)
			}
			return n, nil
		}
	}
	return 0, nil
}

// usableKey resolves ref for a handle (Signer, Decrypter, AEAD): a
// version below its key's minimum version is refused (checkUsable).
func (b *Backend) usableKey(ctx context.Context, ref string) (*keyInfo, error) {
	ki, label, err := b.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := b.checkUsable(ctx, ki, label); err != nil {
		return nil, err
	}
	return ki, nil
}

// checkUsable refuses a version below its key's minimum version.
func (b *Backend) checkUsable(ctx context.Context, ki *keyInfo, label string) error {
	if label == "" {
		return nil // a key without an alias has no versions
	}
	kv, err := b.versionOf(ctx, ki, label)
	if err != nil || !kv.versioned {
		return err
	}
	p, _, _, err := b.primary(ctx, kv.alias, label)
	if err != nil {
		return err
	}
	min, err := b.minVersion(ctx, p.keyID)
	if err != nil {
		return err
	}
	if kv.n < min {
		return fmt.Errorf("awskms: key %q version %d is below its minimum version %d: %w", label, kv.n, min, backend.ErrKeyRetired)
	}
	return nil
}

// Rotate makes a new KMS key of the same spec and usage, names it
// alias/<label>/v<n>, and points alias/<label> at it (the first rotation
// also names the old key alias/<label>/v1). The minimum version tag moves
// to the new primary.
func (b *Backend) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	vk, err := b.resolveVersioned(ctx, ref, func() error {
		return fmt.Errorf("awskms: rotate %q: the key has no alias to version: %w", ref, backend.ErrUnsupported)
	})
	if err != nil {
		return nil, err
	}
	label, alias, cur, md := vk.label, vk.alias, vk.primary, vk.meta
	min, err := b.minVersion(ctx, cur.keyID)
	if err != nil {
		return nil, err
	}
	if !vk.versioned {
		if _, err := b.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(versionAlias(alias, 1)), TargetKeyId: aws.String(cur.keyID)}); err != nil {
			return nil, fmt.Errorf("awskms: rotate %q: naming version 1: %w", label, classify("CreateAlias", err))
		}
	}
	n := vk.n + 1
	tags := []types.Tag{{TagKey: aws.String("keyplane-label"), TagValue: aws.String(label)}}
	if min > 0 {
		tags = append(tags, types.Tag{TagKey: aws.String(minVersionTag), TagValue: aws.String(strconv.Itoa(min))})
	}
	out, err := b.client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     md.KeySpec,
		KeyUsage:    md.KeyUsage,
		Description: aws.String(fmt.Sprintf("keyplane key %s version %d", label, n)),
		Tags:        tags,
	})
	if err != nil {
		return nil, classify("CreateKey", err)
	}
	keyID := aws.ToString(out.KeyMetadata.KeyId)
	undo := func(err error) error {
		b.scheduleDeletion(context.WithoutCancel(ctx), keyID)
		return fmt.Errorf("awskms: rotate %q: the new key %s is scheduled for deletion again: %w", label, keyID, err)
	}
	if _, err := b.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(versionAlias(alias, n)), TargetKeyId: aws.String(keyID)}); err != nil {
		return nil, undo(classify("CreateAlias", err)) // another rotation took version n
	}
	if _, err := b.client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)}); err != nil {
		_, _ = b.client.DeleteAlias(context.WithoutCancel(ctx), &kms.DeleteAliasInput{AliasName: aws.String(versionAlias(alias, n))})
		return nil, undo(classify("UpdateAlias", err))
	}
	ki, err := b.info(ctx, out.KeyMetadata)
	if err != nil {
		return nil, err
	}
	k := ki.key(label)
	k.Version = n
	return k, nil
}

// Versions lists the key's versions (the KMS keys its version aliases
// name, skipping deleted ones), oldest first; each Key's URI is its KMS
// key ARN.
func (b *Backend) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	vk, err := b.resolveVersioned(ctx, ref, func() error {
		return fmt.Errorf("awskms: key %q has no alias, so no versions: %w", ref, backend.ErrUnsupported)
	})
	if err != nil {
		return nil, err
	}
	label := vk.label
	if !vk.versioned {
		k := vk.primary.key(label)
		k.Version = 1
		return []*backend.Key{k}, nil
	}
	var out []*backend.Key
	for n := 1; n <= vk.n; n++ {
		ki, _, err := b.resolve(ctx, versionAlias(vk.alias, n))
		if isNotFound(err) {
			continue // deleted
		}
		if err != nil {
			return nil, err
		}
		k := ki.key(label)
		k.Version = n
		out = append(out, k)
	}
	return out, nil
}

// SetMinVersion tags the primary key with the minimum version.
func (b *Backend) SetMinVersion(ctx context.Context, ref string, min int) error {
	vk, err := b.resolveVersioned(ctx, ref, nil)
	if err != nil {
		return err
	}
	if min < 1 || min > vk.n {
		return fmt.Errorf("awskms: minimum version %d of key %q: want 1 to %d (its primary version): %w", min, vk.label, vk.n, backend.ErrInvalidInput)
	}
	_, err = b.client.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(vk.primary.keyID),
		Tags: []types.Tag{{TagKey: aws.String(minVersionTag), TagValue: aws.String(strconv.Itoa(min))}}})
	return classify("TagResource", err)
}

// DeleteVersion removes version's alias and schedules its KMS key for
// deletion (after MinDeletionWindowDays). The primary is refused.
func (b *Backend) DeleteVersion(ctx context.Context, ref string, version int) error {
	vk, err := b.resolveVersioned(ctx, ref, nil)
	if err != nil {
		return err
	}
	if version == vk.n {
		return fmt.Errorf("awskms: version %d is the primary version of key %q and cannot be deleted: %w", version, vk.label, backend.ErrInvalidInput)
	}
	if version < 1 || version > vk.n || !vk.versioned {
		return fmt.Errorf("awskms: key %q has no version %d: %w", vk.label, version, backend.ErrNotFound)
	}
	ki, _, err := b.resolve(ctx, versionAlias(vk.alias, version))
	if err != nil {
		return err
	}
	if _, err := b.client.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(versionAlias(vk.alias, version))}); err != nil {
		return classify("DeleteAlias", err)
	}
	if _, err := b.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
		KeyId: aws.String(ki.keyID), PendingWindowInDays: aws.Int32(MinDeletionWindowDays),
	}); err != nil {
		return classify("ScheduleKeyDeletion", err)
	}
	return nil
}
