//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// Discover loads the module at path (once per process, like Open; a module
// already loaded by a backend is shared) and reads what it is: CK_INFO,
// every slot, every present token, and each token's mechanisms with what
// keyplane would use them for. It reads no object and never logs in.
//
// What could be read is returned even with an error: a module that does not
// load or initialize returns a ModuleInfo with only Path (and InitArgs) set
// and the error; a slot whose token cannot be read has SlotInfo.Error set,
// and the rest is still listed.
//
// Discover returns when ctx is done, with an error wrapping
// backend.ErrUnavailable, even when the module has not returned: the call
// into the module cannot be stopped and goes on in the background (the
// module stays loaded). A module that hangs while it loads or initializes
// does so under the lock every module of the process is loaded under, so
// no other module (and no backend on a module not yet loaded) can be
// loaded in the process afterwards. To be safe from a module that crashes
// or never returns, run Discover in a child process, as `keyplane tokens`
// does.
func Discover(ctx context.Context, path string, opts DiscoverOptions) (*ModuleInfo, error) {
	shown := opts.InitArgs
	if shown != "" && opts.InitArgsSecret {
		shown = RedactedInitArgs
	}
	type result struct {
		info *ModuleInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info := &ModuleInfo{Path: path, InitArgs: shown, Slots: []SlotInfo{}}
		err := discover(info, path, opts, shown)
		done <- result{info, err}
	}()
	select {
	case r := <-done:
		return r.info, r.err
	case <-ctx.Done():
		return &ModuleInfo{Path: path, InitArgs: shown, Slots: []SlotInfo{}},
			fmt.Errorf("pkcs11: module %s did not answer in time (%w): %w", path, ctx.Err(), backend.ErrUnavailable)
	}
}

func discover(info *ModuleInfo, path string, opts DiscoverOptions, shownArgs string) error {
	mod, err := loadModuleForDiscovery(path, opts.InitArgs)
	if err != nil {
		return err
	}
	var p pkcs11API = guardedCtx{mod, mod.ctx}
	ci, err := p.GetInfo()
	if err != nil {
		return fmt.Errorf("module %s: %w", path, ckErr("C_GetInfo", err))
	}
	info.Library = &LibraryInfo{
		Description:     ci.LibraryDescription,
		Manufacturer:    ci.ManufacturerID,
		Version:         version(ci.LibraryVersion),
		CryptokiVersion: version(ci.CryptokiVersion),
	}
	ids, err := p.GetSlotList(false)
	if err != nil {
		return fmt.Errorf("module %s: %w", path, ckErr("C_GetSlotList", err))
	}
	for _, id := range ids {
		info.Slots = append(info.Slots, readSlot(p, id))
	}
	setTokenURIs(info, path, shownArgs)
	return nil
}

// loadModuleForDiscovery loads the module as Open does, with its init
// args, in the registry every backend of the process shares: a backend
// opened later with the same init args uses it, one with other init args
// is refused (see loadModule).
func loadModuleForDiscovery(path, initArgs string) (*module, error) {
	return loadModule(path, initArgs)
}

func readSlot(p pkcs11API, id uint) SlotInfo {
	s := SlotInfo{ID: id, Flags: []string{}}
	si, err := p.GetSlotInfo(id)
	if err != nil {
		s.Error = ckErr("C_GetSlotInfo", err).Error()
		return s
	}
	s.Description = trimPad(si.SlotDescription)
	s.Manufacturer = trimPad(si.ManufacturerID)
	s.Flags = flagNames(si.Flags, slotFlags)
	s.HardwareVersion = version(si.HardwareVersion)
	s.FirmwareVersion = version(si.FirmwareVersion)
	if si.Flags&pkcs11.CKF_TOKEN_PRESENT == 0 {
		return s
	}
	ti, err := p.GetTokenInfo(id)
	if err != nil {
		s.Error = ckErr("C_GetTokenInfo", err).Error()
		return s
	}
	tok := &TokenInfo{
		Label:           ti.Label,
		Manufacturer:    trimPad(ti.ManufacturerID),
		Model:           trimPad(ti.Model),
		Serial:          trimPad(ti.SerialNumber),
		Flags:           flagNames(ti.Flags, tokenFlags),
		MaxSessions:     sessionLimit(ti.MaxSessionCount),
		MinPINLen:       ti.MinPinLen,
		MaxPINLen:       ti.MaxPinLen,
		HardwareVersion: version(ti.HardwareVersion),
		FirmwareVersion: version(ti.FirmwareVersion),
		Algorithms:      []string{},
		Operations:      []string{},
		Mechanisms:      []MechanismInfo{},
	}
	s.Token = tok
	if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0 {
		tok.URI = "-" // set by setTokenURIs, which sees every token
	}
	list, err := p.GetMechanismList(id)
	if err != nil {
		s.Error = ckErr("C_GetMechanismList", err).Error()
		return s
	}
	mechs := make(map[uint]pkcs11.MechanismInfo, len(list))
	for _, m := range list {
		mi, err := p.GetMechanismInfo(id, []*pkcs11.Mechanism{pkcs11.NewMechanism(m.Mechanism, nil)})
		if err != nil {
			s.Error = fmt.Sprintf("%v (mechanism %s)", ckErr("C_GetMechanismInfo", err), mechName(m.Mechanism))
			continue
		}
		mechs[m.Mechanism] = mi
	}
	describeMechanisms(tok, mechs)
	return s
}

// describeMechanisms fills in what keyplane would do with mechs, asking the
// same questions as a Backend's Capabilities (supportsAlgorithm,
// supportsOperation) of a backend that has only the mechanism list; a
// mechanism is credited with the algorithms and operations that go away
// when it is taken out of the list.
func describeMechanisms(tok *TokenInfo, mechs map[uint]pkcs11.MechanismInfo) {
	offered := func(mechs map[uint]pkcs11.MechanismInfo) (algs, ops []string) {
		b := &Backend{mechs: mechs}
		for _, a := range backend.AllAlgorithms() {
			if b.supportsAlgorithm(a) {
				algs = append(algs, string(a))
			}
		}
		for _, op := range backend.AllOperations() {
			if b.supportsOperation(op) {
				ops = append(ops, string(op))
			}
		}
		return algs, ops
	}
	algs, ops := offered(mechs)
	b := &Backend{mechs: mechs}
	tok.KeyAgreement = b.agreementFromMechanisms()
	mlkem, mldsa := b.pqcReport()
	tok.PostQuantum = "ml-kem: " + mlkem + "; ml-dsa: " + mldsa
	tok.Algorithms = append(tok.Algorithms, algs...)
	tok.Operations = append(tok.Operations, ops...)
	codes := make([]uint, 0, len(mechs))
	for m := range mechs {
		codes = append(codes, m)
	}
	slices.Sort(codes)
	for _, m := range codes {
		mi := mechs[m]
		without := make(map[uint]pkcs11.MechanismInfo, len(mechs))
		for k, v := range mechs {
			if k != m {
				without[k] = v
			}
		}
		lessAlgs, lessOps := offered(without)
		var uses []string
		for _, a := range algs {
			if !slices.Contains(lessAlgs, a) {
				uses = append(uses, a)
			}
		}
		for _, op := range ops {
			if !slices.Contains(lessOps, op) && !slices.Contains(uses, op) {
				uses = append(uses, op)
			}
		}
		tok.Mechanisms = append(tok.Mechanisms, MechanismInfo{
			Name:       mechName(m),
			Code:       fmt.Sprintf("0x%X", m),
			MinKeySize: mi.MinKeySize,
			MaxKeySize: mi.MaxKeySize,
			Flags:      flagNames(mi.Flags, mechanismFlags),
			Keyplane:   uses,
		})
	}
}

// setTokenURIs gives every initialized token the URI that opens it: its
// label, plus its serial number when another token of the module has the
// same label, plus slot-id when even that is not unique.
func setTokenURIs(info *ModuleInfo, path, shownArgs string) {
	count := func(same func(a, b *TokenInfo) bool, t *TokenInfo) int {
		n := 0
		for i := range info.Slots {
			if o := info.Slots[i].Token; o != nil && o.URI != "" && same(o, t) {
				n++
			}
		}
		return n
	}
	for i := range info.Slots {
		s := &info.Slots[i]
		t := s.Token
		if t == nil || t.URI == "" {
			continue
		}
		u := URI{Token: t.Label, ModulePath: path}
		if count(func(a, b *TokenInfo) bool { return a.Label == b.Label }, t) > 1 {
			u.Serial = t.Serial
			if count(func(a, b *TokenInfo) bool { return a.Label == b.Label && a.Serial == b.Serial }, t) > 1 {
				id := s.ID
				u.SlotID = &id
			}
		}
		if t.Label == "" {
			id := s.ID
			u.SlotID = &id
		}
		t.URI = u.String()
		if shownArgs != "" && !strings.Contains(t.URI, "module-init-args=") {
			t.URI += "&module-init-args=" + escape(shownArgs, true)
		}
	}
}

// trimPad takes off the blank padding of a fixed-size CK_ field.
func trimPad(s string) string { return strings.TrimRight(s, " \x00") }

func version(v pkcs11.Version) string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

type flagName struct {
	bit  uint
	name string
}

// flagNames decodes flags with names; bits without a name show in hex.
func flagNames(flags uint, names []flagName) []string {
	out := []string{}
	for _, f := range names {
		if flags&f.bit != 0 {
			out = append(out, f.name)
			flags &^= f.bit
		}
	}
	for bit := uint(1); flags != 0 && bit != 0; bit <<= 1 {
		if flags&bit != 0 {
			out = append(out, fmt.Sprintf("0x%X", bit))
			flags &^= bit
		}
	}
	return out
}

var slotFlags = []flagName{
	{pkcs11.CKF_TOKEN_PRESENT, "token-present"},
	{pkcs11.CKF_REMOVABLE_DEVICE, "removable-device"},
	{pkcs11.CKF_HW_SLOT, "hw-slot"},
}

// tokenFlags are spelled as p11-kit list-modules spells them.
var tokenFlags = []flagName{
	{pkcs11.CKF_RNG, "rng"},
	{pkcs11.CKF_WRITE_PROTECTED, "write-protected"},
	{pkcs11.CKF_LOGIN_REQUIRED, "login-required"},
	{pkcs11.CKF_USER_PIN_INITIALIZED, "user-pin-initialized"},
	{pkcs11.CKF_RESTORE_KEY_NOT_NEEDED, "restore-key-not-needed"},
	{pkcs11.CKF_CLOCK_ON_TOKEN, "clock-on-token"},
	{pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH, "protected-authentication-path"},
	{pkcs11.CKF_DUAL_CRYPTO_OPERATIONS, "dual-crypto-operations"},
	{pkcs11.CKF_TOKEN_INITIALIZED, "token-initialized"},
	{pkcs11.CKF_SECONDARY_AUTHENTICATION, "secondary-authentication"},
	{pkcs11.CKF_USER_PIN_COUNT_LOW, "user-pin-count-low"},
	{pkcs11.CKF_USER_PIN_FINAL_TRY, "user-pin-final-try"},
	{pkcs11.CKF_USER_PIN_LOCKED, "user-pin-locked"},
	{pkcs11.CKF_USER_PIN_TO_BE_CHANGED, "user-pin-to-be-changed"},
	{pkcs11.CKF_SO_PIN_COUNT_LOW, "so-pin-count-low"},
	{pkcs11.CKF_SO_PIN_FINAL_TRY, "so-pin-final-try"},
	{pkcs11.CKF_SO_PIN_LOCKED, "so-pin-locked"},
	{pkcs11.CKF_SO_PIN_TO_BE_CHANGED, "so-pin-to-be-changed"},
	{pkcs11.CKF_ERROR_STATE, "error-state"},
}

var mechanismFlags = []flagName{
	{pkcs11.CKF_HW, "hw"},
	{pkcs11.CKF_ENCRYPT, "encrypt"},
	{pkcs11.CKF_DECRYPT, "decrypt"},
	{pkcs11.CKF_DIGEST, "digest"},
	{pkcs11.CKF_SIGN, "sign"},
	{pkcs11.CKF_SIGN_RECOVER, "sign-recover"},
	{pkcs11.CKF_VERIFY, "verify"},
	{pkcs11.CKF_VERIFY_RECOVER, "verify-recover"},
	{pkcs11.CKF_GENERATE, "generate"},
	{pkcs11.CKF_GENERATE_KEY_PAIR, "generate-key-pair"},
	{pkcs11.CKF_WRAP, "wrap"},
	{pkcs11.CKF_UNWRAP, "unwrap"},
	{pkcs11.CKF_DERIVE, "derive"},
	{pkcs11.CKF_EC_F_P, "ec-f-p"},
	{pkcs11.CKF_EC_F_2M, "ec-f-2m"},
	{pkcs11.CKF_EC_ECPARAMETERS, "ec-ecparameters"},
	{pkcs11.CKF_EC_NAMEDCURVE, "ec-namedcurve"},
	{pkcs11.CKF_EC_UNCOMPRESS, "ec-uncompress"},
	{pkcs11.CKF_EC_COMPRESS, "ec-compress"},
	{pkcs11.CKF_EXTENSION, "extension"},
}
