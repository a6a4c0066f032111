package detect

import (
	"strings"
	"testing"
)

// Fake credentials, assembled so that secret scanners do not flag this
// file.
var (
	fakeTail48  = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nOp3rSt6v"
	fakeOpenAI  = "sk" + "-" + fakeTail48
	fakeProject = "sk" + "-proj-" + "Zx9_yW8-vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7" + fakeTail48
	fakeAnthro  = "sk" + "-ant-api03-" + fakeTail48 + "-" + fakeTail48[:20] + "AA"
	fakeAWS     = "AKIA" + "IOSFODNN7EXAMPLE"
	fakeAWSTemp = "ASIA" + "Y34FZKBOKMUTVV7A"
	fakeGHP     = "gh" + "p_" + fakeTail48[:36]
	fakeGHPat   = "github" + "_pat_" + "11ABCDEFG0123456789_" + fakeTail48
	fakeJWT     = "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ" + "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	fakePEMBody = "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMVq0i\n" +
		"Jg7JEBDyJ1ygm9XdJz4wCKfl6Z8EwqrHsY0JwKXGpAU1GhOZhdRJaG2xR=\n"
	fakePEM = "-----BEGIN RSA PRIVATE KEY-----\n" + fakePEMBody + "-----END RSA PRIVATE KEY-----"
)

func TestSecrets(t *testing.T) {
	bigPEM := "-----BEGIN PRIVATE KEY-----\n" + strings.Repeat("QUJD", 3000)
	runCases(t, mustBuiltin(t, "secrets"), cases{
		{"key " + fakeOpenAI + " end", []string{fakeOpenAI}},
		{"OPENAI_API_KEY=" + fakeProject, []string{fakeProject}},
		{`"` + fakeAnthro + `"`, []string{fakeAnthro}},
		{fakeAWS + "," + fakeAWSTemp, []string{fakeAWS, fakeAWSTemp}},
		{"token " + fakeGHP + ".", []string{fakeGHP}},
		{"gh" + "o_" + fakeTail48[:36] + " gh" + "s_" + fakeTail48[1:37], []string{"gh" + "o_" + fakeTail48[:36], "gh" + "s_" + fakeTail48[1:37]}},
		{fakeGHPat, []string{fakeGHPat}},
		{"Authorization: Bearer " + fakeJWT + "\n", []string{fakeJWT}},
		{"key:\n" + fakePEM + "\nbye", []string{fakePEM}},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----", []string{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----"}},
		{`"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"`, []string{`-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----`}},
		{"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----", []string{"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----"}},
		{"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIabc\n  ", []string{"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIabc"}},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----BEGIN RSA PRIVATE KEY-----\nMIIdef", []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIabc", "-----BEGIN RSA PRIVATE KEY-----\nMIIdef"}},
		{bigPEM, []string{bigPEM[:maxPEMLen]}},
		{"password=hunter2", []string{"hunter2"}},
		{"PASSWORD: \"s3cr3t pass\"\n", []string{"s3cr3t pass"}},
		{`{"api_key": "abc123", "user": "x"}`, []string{"abc123"}},
		{"DB_PASSWORD = 'x y'", []string{"x y"}},
		{"client_secret => 'abc'", []string{"abc"}},
		{"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{"GITHUB_TOKEN=" + fakeGHP, []string{fakeGHP}},
		{"passwd: hunter2; next", []string{"hunter2"}},
		{"https://x.test/?password=abc&user=x", []string{"abc"}},
		{"password := \"x\"", []string{"x"}},
		{"apiKey: k-123 secretKey=v private-key=w", []string{"k-123", "v", "w"}},
		{"my Secret: always", nil},
		{"Here's the secret: practice.", nil},
		{"password: letmein", nil},
		{"password=letmein secret: 'letmein' pwd:letmein", []string{"letmein", "letmein", "letmein"}},
		{"password: hunter2 passwd: correcthorsebattery", []string{"hunter2", "correcthorsebattery"}},
		{"password=" + strings.Repeat("p", 300), []string{strings.Repeat("p", maxValueLen)}},
		{`password="unterminated value`, []string{"unterminated"}},
		{`password=\"abc\"`, nil},
		// Near misses.
		{"sk-short1", nil},
		{"task-abcdefghijklmnopqrstuvwxyz0123", nil},
		{"sk-abcdefghijklmnopqrstuvwxyz", nil},
		{"sk-01234567890123456789012", nil},
		{"AKIAIOSFODNN7EXAMPL", nil},
		{"AKIAIOSFODNN7EXAMPLEX", nil},
		{"akiaiosfodnn7example", nil},
		{"xAKIAIOSFODNN7EXAMPLE", nil},
		{"gh" + "p_short", nil},
		{"gh" + "x_" + fakeTail48[:36], nil},
		{"xgh" + "p_" + fakeTail48[:36], nil},
		{"gh" + "p_" + fakeTail48[:36] + "_x", nil},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", nil},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.", nil},
		{"eyJabc.def.ghi", nil},
		{"x.eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", nil},
		{"-----BEGIN CERTIFICATE-----\nMIIabc\n-----END CERTIFICATE-----", nil},
		{"-----BEGIN PUBLIC KEY-----\nMIIabc\n-----END PUBLIC KEY-----", nil},
		{"if password == x", nil},
		{"if password != x", nil},
		{"password:", nil},
		{"password: \n  x", nil},
		{"passwords: x", nil},
		{"token: the unit of text", nil},
		{"the secret is out", nil},
		{"max_tokens: 100", nil},
		{"--password hunter2", nil},
	})
}
