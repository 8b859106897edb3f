package awskms

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyplane/keyplane/backend"
)

func init() {
	backend.Register(Scheme, func(ctx context.Context, uri string) (backend.Backend, error) {
		c, err := ParseURI(uri)
		if err != nil {
			return nil, err
		}
		return OpenConfig(ctx, c)
	})
}

// Backend is an AWS KMS account and region as a keyplane backend. It is
// safe for concurrent use.
type Backend struct {
	cfg    Config
	client *kms.Client
	closed atomic.Bool

	// pubs caches each key's public key and metadata, by KMS key ID:
	// both are fixed for a key's life, so GetPublicKey runs once per key.
	mu   sync.Mutex
	pubs map[string]*keyInfo
}

// keyInfo is what the backend knows of a KMS key that does not change.
type keyInfo struct {
	keyID   string
	arn     string
	alg     backend.Algorithm
	usage   types.KeyUsageType
	created time.Time
	public  crypto.PublicKey // nil for symmetric keys
}

// OpenConfig opens the backend c describes. With neither c.AWS nor
// c.Credentials, the SDK's default chain supplies the region (when the
// URI has none) and the credentials — the SDK reads the environment and
// the shared config files for that (see Config). The first call that
// needs credentials finds out whether there are any (OpenConfig makes no
// request). c is copied: changing it afterwards changes nothing.
func OpenConfig(ctx context.Context, c *Config) (*Backend, error) {
	if c == nil {
		return nil, fmt.Errorf("awskms: nil Config: %w", backend.ErrInvalidInput)
	}
	awsCfg, err := c.sdkConfig(ctx)
	if err != nil {
		return nil, err
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("awskms: no region: give region= in the URI, or set AWS_REGION or the profile's region (or Config.Region in code): %w", backend.ErrInvalidInput)
	}
	client := kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	cfg := *c
	cfg.AWS, cfg.Credentials = nil, nil // the client holds them
	return &Backend{cfg: cfg, client: client, pubs: map[string]*keyInfo{}}, nil
}

// sdkConfig is the SDK configuration c asks for: c.AWS, or one made of
// c.Region and c.Credentials, or the SDK's default chain.
func (c *Config) sdkConfig(ctx context.Context) (aws.Config, error) {
	if c.AWS == nil && c.Credentials == nil {
		var opts []func(*config.LoadOptions) error
		if c.Region != "" {
			opts = append(opts, config.WithRegion(c.Region))
		}
		if c.Profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(c.Profile))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return aws.Config{}, fmt.Errorf("awskms: loading the AWS configuration (profile %q): %w: %w", c.Profile, backend.ErrInvalidInput, err)
		}
		return awsCfg, nil
	}
	if c.Profile != "" {
		return aws.Config{}, fmt.Errorf("awskms: profile=%s is a setting of the SDK's default chain, which Config.AWS and Config.Credentials replace: give one or the other: %w", c.Profile, backend.ErrInvalidInput)
	}
	var awsCfg aws.Config
	if c.AWS != nil {
		awsCfg = c.AWS.Copy()
	}
	if c.Region != "" {
		awsCfg.Region = c.Region
	}
	if c.Credentials != nil {
		awsCfg.Credentials = c.Credentials
	}
	if awsCfg.Credentials == nil {
		return aws.Config{}, fmt.Errorf("awskms: Config.AWS has no Credentials (set them, or Config.Credentials): %w", backend.ErrInvalidInput)
	}
	if _, cached := awsCfg.Credentials.(*aws.CredentialsCache); !cached {
		awsCfg.Credentials = aws.NewCredentialsCache(awsCfg.Credentials)
	}
	return awsCfg, nil
}

// Config returns the configuration the backend was opened with.
func (b *Backend) Config() Config { return b.cfg }

func (b *Backend) check() error {
	if b.closed.Load() {
		return fmt.Errorf("awskms: %w", backend.ErrClosed)
	}
	return nil
}

// Close marks the backend closed; later calls return ErrClosed. Keys stay
// in KMS.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}

// Capabilities reports the key types and operations AWS KMS offers for
// this backend's configuration (RSA operations follow rsa-key-usage).
func (b *Backend) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	ops := []backend.Operation{backend.ECDSASHA256, backend.ECDSASHA384, backend.ECDSASHA512, backend.AES256GCM}
	if b.cfg.rsaUsage() == UsageSignVerify {
		ops = append(ops,
			backend.RSAPKCS1v15SHA256, backend.RSAPKCS1v15SHA384, backend.RSAPKCS1v15SHA512,
			backend.RSAPSSSHA256, backend.RSAPSSSHA384, backend.RSAPSSSHA512)
	} else {
		ops = append(ops, backend.RSAOAEPSHA1, backend.RSAOAEPSHA256)
	}
	order := backend.AllOperations()
	slices.SortFunc(ops, func(x, y backend.Operation) int {
		return slices.Index(order, x) - slices.Index(order, y)
	})
	where := "AWS KMS"
	if b.cfg.Endpoint != "" {
		where += " at " + b.cfg.Endpoint
	}
	return &backend.Capabilities{
		Backend:     Scheme,
		Description: fmt.Sprintf("%s, region %s", where, b.client.Options().Region),
		Algorithms:  []backend.Algorithm{backend.RSA2048, backend.RSA3072, backend.RSA4096, backend.ECP256, backend.ECP384, backend.ECP521, backend.AES256},
		Operations:  ops,
		Persistent:  true,
		Notes: []string{
			"RSA keys are made with key usage " + b.cfg.rsaUsage() + " (a KMS key has one usage for life; rsa-key-usage= picks it)",
			"RSA-PSS signatures carry a salt of the " + strings.ReplaceAll(b.cfg.pssSalt(), "-", " ") + "; other salt lengths are refused",
			"DeleteKey removes the alias at once and schedules the key's deletion after KMS's minimum 7-day window",
			"OAEP: no label, MGF1 with the OAEP hash (what KMS offers)",
			"aes-256 keys are KMS SYMMETRIC_DEFAULT keys: AEAD seals 1 to 4096 bytes into KMS's own ciphertext blob, additional data as encryption context",
		},
		Details: map[string]string{
			backend.DetailPSSSalt:       b.cfg.pssSalt(),
			backend.DetailOAEP:          backend.OAEPNoLabel,
			"rsa-key-usage":             b.cfg.rsaUsage(),
			backend.DetailAEADLayout:    backend.AEADLayoutService,
			backend.DetailAEADPlaintext: fmt.Sprintf("1-%d", MaxAEADPlaintext),
			"region":                    b.client.Options().Region,
		},
	}, nil
}

// keySpecs maps algorithms onto KMS key specs.
var keySpecs = map[backend.Algorithm]types.KeySpec{
	backend.RSA2048: types.KeySpecRsa2048,
	backend.RSA3072: types.KeySpecRsa3072,
	backend.RSA4096: types.KeySpecRsa4096,
	backend.ECP256:  types.KeySpecEccNistP256,
	backend.ECP384:  types.KeySpecEccNistP384,
	backend.ECP521:  types.KeySpecEccNistP521,
	backend.AES256:  types.KeySpecSymmetricDefault,
}

func algorithmOf(spec types.KeySpec) (backend.Algorithm, bool) {
	for a, s := range keySpecs {
		if s == spec {
			return a, true
		}
	}
	return "", false
}

// GenerateKey makes a key inside KMS (CreateKey) and names it with the
// label's alias (CreateAlias). When the alias is taken, the new key is
// scheduled for deletion again and ErrAlreadyExists returned.
func (b *Backend) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	alias, err := aliasFor(spec.Label)
	if err != nil {
		return nil, err
	}
	if spec.Wrappable {
		return nil, fmt.Errorf("awskms: GenerateKey %q: KMS keys never leave KMS, so none is wrappable: %w", spec.Label, backend.ErrUnsupported)
	}
	ks, ok := keySpecs[spec.Algorithm]
	if !ok {
		if _, perr := backend.ParseAlgorithm(string(spec.Algorithm)); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("awskms: GenerateKey: key type %s is not offered here: %w", spec.Algorithm, backend.ErrUnsupported)
	}
	// Most duplicates are found before a key is made.
	if _, err := b.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)}); err == nil {
		return nil, fmt.Errorf("awskms: GenerateKey: label %q (%s) is taken: %w", spec.Label, alias, backend.ErrAlreadyExists)
	} else if cerr := classify("DescribeKey", err); !isNotFound(cerr) {
		return nil, cerr
	}
	usage := types.KeyUsageTypeSignVerify
	if spec.Algorithm.Family() == backend.FamilyRSA && b.cfg.rsaUsage() == UsageEncryptDecrypt || spec.Algorithm == backend.AES256 {
		usage = types.KeyUsageTypeEncryptDecrypt
	}
	out, err := b.client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     ks,
		KeyUsage:    usage,
		Description: aws.String("keyplane key " + spec.Label),
		Tags:        []types.Tag{{TagKey: aws.String("keyplane-label"), TagValue: aws.String(spec.Label)}},
	})
	if err != nil {
		return nil, classify("CreateKey", err)
	}
	keyID := aws.ToString(out.KeyMetadata.KeyId)
	if _, err := b.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)}); err != nil {
		cerr := classify("CreateAlias", err)
		b.scheduleDeletion(context.WithoutCancel(ctx), keyID)
		return nil, fmt.Errorf("awskms: GenerateKey: naming the new key %s (now scheduled for deletion again): %w", keyID, cerr)
	}
	info, err := b.info(ctx, out.KeyMetadata)
	if err != nil {
		return nil, err
	}
	return info.key(spec.Label), nil
}

func isNotFound(err error) bool { return backend.Kind(err) == backend.ErrNotFound }

// info returns the cached facts of the key md describes, fetching its
// public key the first time.
func (b *Backend) info(ctx context.Context, md *types.KeyMetadata) (*keyInfo, error) {
	keyID := aws.ToString(md.KeyId)
	b.mu.Lock()
	ki := b.pubs[keyID]
	b.mu.Unlock()
	if ki != nil {
		return ki, nil
	}
	alg, ok := algorithmOf(md.KeySpec)
	if !ok {
		return nil, fmt.Errorf("awskms: key %s has key spec %s, which keyplane does not use: %w", keyID, md.KeySpec, backend.ErrUnsupported)
	}
	ki = &keyInfo{keyID: keyID, arn: aws.ToString(md.Arn), alg: alg, usage: md.KeyUsage, created: aws.ToTime(md.CreationDate)}
	if alg == backend.AES256 {
		// A symmetric key has no public key to fetch.
		if md.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
			return nil, fmt.Errorf("awskms: key %s is a symmetric key with key usage %s, which keyplane does not use: %w", keyID, md.KeyUsage, backend.ErrUnsupported)
		}
		return b.cache(ki), nil
	}
	out, err := b.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, classify("GetPublicKey", err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("awskms: GetPublicKey %s: the public key does not parse: %v: %w", keyID, err, backend.ErrUnavailable)
	}
	if got, err := backend.AlgorithmOf(pub); err != nil || got != alg {
		return nil, fmt.Errorf("awskms: GetPublicKey %s: a %T public key for key spec %s: %w", keyID, pub, md.KeySpec, backend.ErrUnavailable)
	}
	ki.public = pub
	return b.cache(ki), nil
}

// cache keeps ki, or returns the facts another call cached first.
func (b *Backend) cache(ki *keyInfo) *keyInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cached := b.pubs[ki.keyID]; cached != nil {
		return cached
	}
	b.pubs[ki.keyID] = ki
	return ki
}

func (ki *keyInfo) key(label string) *backend.Key {
	return &backend.Key{
		ID:        idBytes(ki.keyID),
		Label:     label,
		Algorithm: ki.alg,
		Public:    ki.public,
		Created:   ki.created,
		URI:       ki.arn,
	}
}

// resolve finds the usable key ref names: its facts and its label.
func (b *Backend) resolve(ctx context.Context, ref string) (*keyInfo, string, error) {
	if err := b.check(); err != nil {
		return nil, "", err
	}
	kid, err := kmsKeyRef(ref)
	if err != nil {
		return nil, "", err
	}
	out, err := b.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(kid)})
	if err != nil {
		return nil, "", fmt.Errorf("key %q: %w", ref, classify("DescribeKey", err))
	}
	md := out.KeyMetadata
	switch md.KeyState {
	case types.KeyStatePendingDeletion, types.KeyStatePendingReplicaDeletion:
		return nil, "", fmt.Errorf("awskms: key %q is scheduled for deletion (%s): %w", ref, aws.ToTime(md.DeletionDate).UTC().Format(time.DateOnly), backend.ErrNotFound)
	}
	ki, err := b.info(ctx, md)
	if err != nil {
		return nil, "", err
	}
	label, err := b.labelFor(ctx, ref, kid, ki.keyID)
	if err != nil {
		return nil, "", err
	}
	return ki, label, nil
}

// labelFor returns the label of the key: from the reference when it was a
// label or alias, otherwise from the key's first alias (sorted).
func (b *Backend) labelFor(ctx context.Context, ref, kid, keyID string) (string, error) {
	if strings.HasPrefix(kid, aliasPrefix) {
		return labelOf(kid), nil
	}
	if i := strings.Index(kid, ":alias/"); i >= 0 {
		return labelOf(kid[i+1:]), nil
	}
	names, err := b.keyAliases(ctx, keyID)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", nil
	}
	slices.Sort(names)
	return labelOf(names[0]), nil
}

// Key returns the key ref names. A key that is disabled is returned (its
// operations fail with ErrNotFound); a key scheduled for deletion is
// ErrNotFound.
func (b *Backend) Key(ctx context.Context, ref string) (*backend.Key, error) {
	ki, label, err := b.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	k := ki.key(label)
	if label != "" {
		kv, err := b.versionOf(ctx, ki, label)
		if err != nil {
			return nil, err
		}
		k.Version = kv.n
	}
	return k, nil
}

// Keys lists every alias of the account and region that names a key of a
// type keyplane uses (one entry per alias), sorted by label. AWS-managed
// aliases (alias/aws/…) and keys scheduled for deletion are left out.
func (b *Backend) Keys(ctx context.Context) ([]*backend.Key, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	var keys []*backend.Key
	var aliases []types.AliasListEntry
	p := kms.NewListAliasesPaginator(b.client, &kms.ListAliasesInput{Limit: listPageSize})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("ListAliases", err)
		}
		aliases = append(aliases, page.Aliases...)
	}
	// A versioned key is listed once, by its alias/<label> (the primary);
	// its version aliases say which version that is.
	versionOf := map[string]int{} // alias/<label> + target → version
	for _, a := range aliases {
		if base, n, ok := splitVersionAlias(aws.ToString(a.AliasName)); ok {
			versionOf[base+"\x00"+aws.ToString(a.TargetKeyId)] = n
		}
	}
	for _, a := range aliases {
		name := aws.ToString(a.AliasName)
		if a.TargetKeyId == nil || strings.HasPrefix(name, "alias/aws/") {
			continue
		}
		if _, _, ok := splitVersionAlias(name); ok {
			continue
		}
		ki, err := b.cachedOrDescribe(ctx, aws.ToString(a.TargetKeyId))
		if err != nil {
			if k := backend.Kind(err); k == backend.ErrUnsupported || k == backend.ErrNotFound {
				continue // not a key keyplane uses, or going away
			}
			return nil, err
		}
		k := ki.key(labelOf(name))
		k.Version = max(versionOf[name+"\x00"+aws.ToString(a.TargetKeyId)], 1)
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y *backend.Key) int { return strings.Compare(x.Label, y.Label) })
	return keys, nil
}

// cachedOrDescribe returns the facts of a key by ID, describing it (to
// see its state) every time.
func (b *Backend) cachedOrDescribe(ctx context.Context, keyID string) (*keyInfo, error) {
	out, err := b.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, classify("DescribeKey", err)
	}
	switch out.KeyMetadata.KeyState {
	case types.KeyStatePendingDeletion, types.KeyStatePendingReplicaDeletion:
		return nil, fmt.Errorf("awskms: key %s is scheduled for deletion: %w", keyID, backend.ErrNotFound)
	}
	return b.info(ctx, out.KeyMetadata)
}

// listPageSize is the Limit of each ListAliases request of Keys; nil
// leaves it to KMS (50 on AWS). Tests make it small to see the pages.
var listPageSize *int32

// MinDeletionWindowDays is the shortest wait KMS allows between
// ScheduleKeyDeletion and the key's destruction.
const MinDeletionWindowDays = 7

// DeleteKey removes every alias of the key at once and schedules the key
// for deletion after MinDeletionWindowDays (KMS destroys no key sooner;
// until then CancelKeyDeletion brings it back, disabled). From the call
// on, the key is ErrNotFound to this backend.
func (b *Backend) DeleteKey(ctx context.Context, ref string) error {
	ki, label, err := b.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if label != "" {
		// Every version of a versioned key, the primary last.
		vs, err := b.Versions(ctx, ref)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if keyID := keyIDOf(v.ID); keyID != ki.keyID {
				if err := b.deleteKMSKey(ctx, keyID); err != nil {
					return err
				}
			}
		}
	}
	return b.deleteKMSKey(ctx, ki.keyID)
}

// deleteKMSKey removes every alias of a KMS key and schedules its
// deletion.
func (b *Backend) deleteKMSKey(ctx context.Context, keyID string) error {
	aliases, err := b.keyAliases(ctx, keyID)
	if err != nil {
		return err
	}
	for _, a := range aliases {
		if _, err := b.client.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(a)}); err != nil {
			if cerr := classify("DeleteAlias", err); !isNotFound(cerr) {
				return cerr
			}
		}
	}
	if _, err := b.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
		KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(MinDeletionWindowDays),
	}); err != nil {
		return classify("ScheduleKeyDeletion", err)
	}
	return nil
}

func (b *Backend) scheduleDeletion(ctx context.Context, keyID string) {
	_, _ = b.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
		KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(MinDeletionWindowDays),
	})
}

// callContext is the context of a Sign or Decrypt call, which has none of
// its own.
func (b *Backend) callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.cfg.callTimeout())
}
