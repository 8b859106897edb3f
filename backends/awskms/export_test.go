package awskms

import "github.com/aws/aws-sdk-go-v2/service/kms"

// ClientOf gives tests and benchmarks the backend's own KMS client.
func ClientOf(b *Backend) *kms.Client { return b.client }
