package wycheproof

import (
	"fmt"
	"sort"
	"strings"
)

// allow is the set of results a flag may come with.
type allow uint8

const (
	allowValid allow = 1 << iota
	allowInvalid
	allowAcceptable
	allowAny = allowValid | allowInvalid | allowAcceptable
)

func (a allow) has(result string) bool {
	switch result {
	case Valid:
		return a&allowValid != 0
	case Invalid:
		return a&allowInvalid != 0
	case Acceptable:
		return a&allowAcceptable != 0
	}
	return false
}

// flagRule is what a runner knows about one flag.
type flagRule struct {
	allow allow
	// publicReject: the vector is malformed in a way that depends only on
	// public data (the ciphertext's length, or its value not reduced modulo
	// n), so a backend may refuse it even where it otherwise answers
	// without an error (PKCS#1 v1.5 implicit rejection).
	publicReject bool
}

// flagTable maps every flag a runner understands to its rule.
type flagTable map[string]flagRule

// check returns an error when c carries a flag the table does not know, a
// flag seen with a result it does not allow, or a result that is none of
// valid/invalid/acceptable.
func (ft flagTable) check(c *Case) error {
	switch c.Result {
	case Valid, Invalid, Acceptable:
	default:
		return fmt.Errorf("tcId %d: unknown result %q", c.TcID, c.Result)
	}
	var unknown []string
	for _, f := range c.Flags {
		r, ok := ft[f]
		if !ok {
			unknown = append(unknown, f)
			continue
		}
		if !r.allow.has(c.Result) {
			return fmt.Errorf("tcId %d: flag %q with result %q, which this runner's table does not allow (the vectors changed?)", c.TcID, f, c.Result)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("tcId %d: unknown flags %s: add them to the runner's table with the results they allow", c.TcID, strings.Join(unknown, ", "))
	}
	return nil
}

// publicReject reports whether any of c's flags marks a publicly malformed
// input.
func (ft flagTable) publicReject(c *Case) bool {
	for _, f := range c.Flags {
		if ft[f].publicReject {
			return true
		}
	}
	return false
}

var oaepFlags = flagTable{
	"Normal":                 {allow: allowValid},
	"EncryptionWithLabel":    {allow: allowValid | allowAcceptable},
	"Constructed":            {allow: allowValid | allowAcceptable},
	"SmallModulus":           {allow: allowValid},
	"SmallIntegerCiphertext": {allow: allowAcceptable},
	"InvalidCiphertext":      {allow: allowInvalid},
	"InvalidOaepPadding":     {allow: allowInvalid},
}

var pkcs1Flags = flagTable{
	"Normal":                  {allow: allowValid},
	"SpecialCase":             {allow: allowValid | allowInvalid},
	"SpecialCasePadding":      {allow: allowValid},
	"Sslv23Padding":           {allow: allowValid},
	"InvalidPkcs1Padding":     {allow: allowInvalid},
	"InvalidCiphertextFormat": {allow: allowInvalid, publicReject: true},
	"CVE 2020-14967":          {allow: allowInvalid},
	"CVE 2021-3580":           {allow: allowInvalid},
}

var ecdsaFlags = flagTable{
	"ValidSignature":               {allow: allowValid},
	"ArithmeticError":              {allow: allowValid | allowInvalid},
	"EdgeCasePublicKey":            {allow: allowValid},
	"EdgeCaseShamirMultiplication": {allow: allowValid},
	"GroupIsomorphism":             {allow: allowValid},
	"ModularInverse":               {allow: allowValid},
	"SpecialCaseHash":              {allow: allowValid},
	"PointDuplication":             {allow: allowValid | allowInvalid},
	"SmallRandS":                   {allow: allowValid | allowInvalid},
	"BerEncodedSignature":          {allow: allowInvalid},
	"IntegerOverflow":              {allow: allowInvalid},
	"InvalidEncoding":              {allow: allowInvalid},
	"InvalidSignature":             {allow: allowInvalid},
	"InvalidTypesInSignature":      {allow: allowInvalid},
	"MissingZero":                  {allow: allowInvalid},
	"ModifiedInteger":              {allow: allowInvalid},
	"ModifiedSignature":            {allow: allowInvalid},
	"RangeCheck":                   {allow: allowInvalid},
	"SignatureSize":                {allow: allowInvalid},
	"Untruncatedhash":              {allow: allowInvalid},
}

var ed25519Flags = flagTable{
	"Valid":                 {allow: allowValid},
	"Ktv":                   {allow: allowValid},
	"TinkOverflow":          {allow: allowValid},
	"CompressedSignature":   {allow: allowInvalid},
	"InvalidEncoding":       {allow: allowInvalid},
	"InvalidKtv":            {allow: allowInvalid},
	"InvalidSignature":      {allow: allowInvalid},
	"SignatureMalleability": {allow: allowInvalid},
	"SignatureWithGarbage":  {allow: allowInvalid},
	"TruncatedSignature":    {allow: allowInvalid},
}

var aesGCMFlags = flagTable{
	"Ktv":          {allow: allowValid},
	"Pseudorandom": {allow: allowValid},
	"SpecialCase":  {allow: allowValid},
	"CounterWrap":  {allow: allowValid},
	"LongIv":       {allow: allowValid},
	"SmallIv":      {allow: allowValid},
	"ModifiedTag":  {allow: allowInvalid},
	"ZeroLengthIv": {allow: allowInvalid},
}
