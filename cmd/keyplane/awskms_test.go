package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/keyplane/keyplane/internal/localkms"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestAWSKMSScripts runs testdata/awskms/*.txtar with a local-kms served
// by this test process on 127.0.0.1: the CLI's commands against
// --backend awskms:…, their results checked by openssl and Python's
// cryptography. $KMS_ENDPOINT is the server; the SDK finds the test's
// fake credentials through AWS_SHARED_CREDENTIALS_FILE and
// AWS_CONFIG_FILE (testscript gives each script HOME=/no-home).
func TestAWSKMSScripts(t *testing.T) {
	if testenv.Required() {
		testenv.Command(t, "openssl", "openssl")
		testenv.Python(t)
	}
	s := localkms.Start(t)
	python := findPython()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/awskms",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("KMS_ENDPOINT", s.URL)
			e.Setenv("KMS_REGION", localkms.Region)
			for _, v := range []string{"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_EC2_METADATA_DISABLED"} {
				e.Setenv(v, os.Getenv(v))
			}
			e.Setenv("PYTHON", python)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "pyca":
				return present(python != "", "python3 with the cryptography package (apt-get install -y python3-cryptography)")
			case "tool:openssl":
				_, err := exec.LookPath("openssl")
				return present(err == nil, "openssl")
			}
			return false, nil
		},
	})
}
