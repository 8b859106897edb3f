package awskms

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// ClientOf gives tests and benchmarks the backend's own KMS client.
func ClientOf(b *Backend) *kms.Client { return b.client }

// SetListPageSize makes Keys ask for n aliases per page for the test's
// duration.
func SetListPageSize(t *testing.T, n int32) {
	old := listPageSize
	listPageSize = &n
	t.Cleanup(func() { listPageSize = old })
}
