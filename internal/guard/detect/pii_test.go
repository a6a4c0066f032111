package detect

import (
	"strings"
	"testing"
)

type cases = []struct {
	in   string
	want []string
}

func TestEmail(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	runCases(t, mustBuiltin(t, "email"), cases{
		{"john@example.com", []string{"john@example.com"}},
		{"write to john.doe+tag@mail.example.co.uk.", []string{"john.doe+tag@mail.example.co.uk"}},
		{"a_b-c%d@x-y.io and B@C.DE", []string{"a_b-c%d@x-y.io", "B@C.DE"}},
		{"<ann@ex.com>, (bob@ex.org)", []string{"ann@ex.com", "bob@ex.org"}},
		{"mailto:ann@ex.com?subject=x", []string{"ann@ex.com"}},
		{"email=ann@ex.com&x=1 'ann@ex.com'", []string{"ann@ex.com", "ann@ex.com"}},
		{"ann@mail1.ex-ample.com", []string{"ann@mail1.ex-ample.com"}},
		{long64 + "@ex.com", []string{long64 + "@ex.com"}},
		{"héllo ann@ex.com", []string{"ann@ex.com"}},
		// Near misses.
		{"john@localhost", nil},
		{"john@example", nil},
		{"john@example.c", nil},
		{"john@example.c0m", nil},
		{".john@ex.com", nil},
		{"john.@ex.com", nil},
		{"jo..hn@ex.com", nil},
		{"john@-ex.com", nil},
		{"john@ex-.com", nil},
		{"john@ex..com", nil},
		{"@ex.com", nil},
		{"john@", nil},
		{"a@b@c.com", []string{"b@c.com"}},
		{"john@ex.com@x", nil},
		{"john@ex.com_x", nil},
		{"john@ex.com-x", nil},
		{"a" + long64 + "@ex.com", nil},
		{"john@" + strings.Repeat("a", 64) + ".com", nil},
		{"john @ex.com", nil},
		{"aaaa@aaaa@aaaa@aaaa", nil},
	})
}

func TestPhone(t *testing.T) {
	runCases(t, mustBuiltin(t, "phone"), cases{
		{"call (555) 123-4567 now", []string{"(555) 123-4567"}},
		{"(555)123-4567", []string{"(555)123-4567"}},
		{"555-123-4567", []string{"555-123-4567"}},
		{"555.123.4567", []string{"555.123.4567"}},
		{"555 123 4567", []string{"555 123 4567"}},
		{"1-555-123-4567", []string{"1-555-123-4567"}},
		{"1 (555) 123-4567", []string{"1 (555) 123-4567"}},
		{"+1 555 123 4567", []string{"+1 555 123 4567"}},
		{"+1-555-123-4567.", []string{"+1-555-123-4567"}},
		{"+1 (555) 123-4567", []string{"+1 (555) 123-4567"}},
		{"+44 20 7946 0958", []string{"+44 20 7946 0958"}},
		{"+44 (0)20 7946 0958", []string{"+44 (0)20 7946 0958"}},
		{"+33 1 23 45 67 89", []string{"+33 1 23 45 67 89"}},
		{"tel:+4915112345678,", []string{"+4915112345678"}},
		{"+86 138 0013 8000 (mobile)", []string{"+86 138 0013 8000"}},
		{"(555-123-4567)", []string{"555-123-4567"}},
		{"+1 555 123 4567 890 12 34", []string{"+1 555 123 4567 890"}},
		// Near misses.
		{"5551234567", nil},
		{"123-456-7890", nil},
		{"055-123-4567", nil},
		{"555-1234", nil},
		{"2024-01-15", nil},
		{"12.05.2024", nil},
		{"4111 1111 1111 1111", nil},
		{"123-45-6789", nil},
		{"+1 555", nil},
		{"+1000000", nil},
		{"+0 20 7946 0958", nil},
		{"+0 555 123 4567", []string{"555 123 4567"}}, // the NA number stands alone
		{"555-123-45678", nil},
		{"555-123-4567-89", nil},
		{"x555-123-4567", nil},
		{"12-555-123-4567", nil},
		{"+1 555 123 4567x", nil},
		{"555-123 4567", nil},
		{"+1234567890123456", nil},
		{"3+4=7 and +12.5%", nil},
	})
}

func TestSSN(t *testing.T) {
	runCases(t, mustBuiltin(t, "ssn"), cases{
		{"SSN: 123-45-6789.", []string{"123-45-6789"}},
		{"123 45 6789", []string{"123 45 6789"}},
		{"(078-05-1120)", []string{"078-05-1120"}},
		{"665-01-0001 899-99-9999", []string{"665-01-0001", "899-99-9999"}},
		// Near misses.
		{"000-12-3456", nil},
		{"666-12-3456", nil},
		{"900-12-3456", nil},
		{"999-12-3456", nil},
		{"123-00-4567", nil},
		{"123-45-0000", nil},
		{"123456789", nil},
		{"123-45 6789", nil},
		{"1234-45-6789", nil},
		{"123-45-67890", nil},
		{"a123-45-6789", nil},
		{"123-45-6789b", nil},
		{"12-123-45-6789", nil},
		{"123-45-6789-1", nil},
		{"123_45_6789", nil},
	})
}

func TestCreditCard(t *testing.T) {
	visa19 := luhnComplete("400000000000000000")
	runCases(t, mustBuiltin(t, "credit_card"), cases{
		{"4111111111111111", []string{"4111111111111111"}},
		{"card 4111 1111 1111 1111 12/25 123", []string{"4111 1111 1111 1111"}},
		{"4111-1111-1111-1111.", []string{"4111-1111-1111-1111"}},
		{"5555555555554444 and 2223003122003222", []string{"5555555555554444", "2223003122003222"}},
		{"amex 378282246310005 / 3782 822463 10005", []string{"378282246310005", "3782 822463 10005"}},
		{"6011111111111117", []string{"6011111111111117"}},
		{"3530111333300000", []string{"3530111333300000"}},
		{"30569309025904 3056 930902 5904", []string{"30569309025904", "3056 930902 5904"}},
		{"4222222222222", []string{"4222222222222"}},
		{visa19, []string{visa19}},
		{visa19[:4] + " " + visa19[4:8] + " " + visa19[8:12] + " " + visa19[12:16] + " " + visa19[16:], []string{visa19[:4] + " " + visa19[4:8] + " " + visa19[8:12] + " " + visa19[12:16] + " " + visa19[16:]}},
		{"2024 4111 1111 1111 1111", []string{"4111 1111 1111 1111"}},
		// Near misses.
		{"4111111111111112", nil},
		{"4111 1111 1111 1112", nil},
		{"1234567890123452", nil},
		{"1700000000003", nil},
		{"4111 1111 1111 111", nil},
		{"41111 1111 1111 1111", nil},
		{"4111 1111-1111 1111", nil},
		{"4111  1111 1111 1111", nil},
		{"x4111111111111111", nil},
		{"4111111111111111x", nil},
		{"0.4111111111111111", nil},
		{"41111111111111111111", nil},
		{"4111111111111111111111", nil},
		{"3111111111111111", nil},
		{"2100000000000007", nil},
	})
}

func TestIBAN(t *testing.T) {
	runCases(t, mustBuiltin(t, "iban"), cases{
		{"DE89370400440532013000", []string{"DE89370400440532013000"}},
		{"IBAN: DE89 3704 0044 0532 0130 00.", []string{"DE89 3704 0044 0532 0130 00"}},
		{"GB82WEST12345698765432 GB82 WEST 1234 5698 7654 32", []string{"GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32"}},
		{"NL91ABNA0417164300", []string{"NL91ABNA0417164300"}},
		{"FR1420041010050500013M02606", []string{"FR1420041010050500013M02606"}},
		{"NO9386011117947 BE68539007547034", []string{"NO9386011117947", "BE68539007547034"}},
		{"de89370400440532013000", []string{"de89370400440532013000"}},
		{"(CH9300762011623852957)", []string{"CH9300762011623852957"}},
		{"MT84MALT011000012345MTLCAST001S", []string{"MT84MALT011000012345MTLCAST001S"}},
		{"DE89 3704 0044 0532 0130 00 EUR", []string{"DE89 3704 0044 0532 0130 00"}},
		// Near misses.
		{"DE88370400440532013000", nil},
		{"DE89 3704 0044 0532 0130 01", nil},
		{"GB82WEST1234569876543", nil},
		{"XX89370400440532013000", nil},
		{"DE8937040044053201300", nil},
		{"DE893704004405320130001", nil},
		{"DE89 37040044 0532 0130 00", nil},
		{"DE89  3704 0044 0532 0130 00", nil},
		{"xDE89370400440532013000", nil},
		{"DE89370400440532013000x", nil},
		{"DE89 3704 0044 0532 0130 00x", nil},
	})
}

func TestIP(t *testing.T) {
	runCases(t, mustBuiltin(t, "ip"), cases{
		{"192.168.1.1", []string{"192.168.1.1"}},
		{"0.0.0.0 and 255.255.255.255.", []string{"0.0.0.0", "255.255.255.255"}},
		{"10.0.0.1:8080 host:10.0.0.2 10.0.0.0/8", []string{"10.0.0.1", "10.0.0.2", "10.0.0.0"}},
		{"[::1]:443", []string{"::1"}},
		{"fe80::1 2001:db8::ff00:42:8329", []string{"fe80::1", "2001:db8::ff00:42:8329"}},
		{"2001:0db8:0000:0000:0000:ff00:0042:8329", []string{"2001:0db8:0000:0000:0000:ff00:0042:8329"}},
		{"::ffff:192.0.2.128", []string{"::ffff:192.0.2.128"}},
		{"1:2:3:4:5:6:1.2.3.4", []string{"1:2:3:4:5:6:1.2.3.4"}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", []string{"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"}},
		{"2001:db8:: is a prefix", []string{"2001:db8::"}},
		{"http://[2001:db8::1]:8080/", []string{"2001:db8::1"}},
		{"addr 2001:db8::1: up", []string{"2001:db8::1"}},
		{"FE80::ABCD", []string{"FE80::ABCD"}},
		// Near misses.
		{"256.1.1.1", nil},
		{"1.2.3", nil},
		{"1.2.3.4.5", nil},
		{"01.2.3.4", nil},
		{"1.2.3.04", nil},
		{"v1.2.3.4", nil},
		{"1.2.3.4a", nil},
		{"1.2.3.1000", nil},
		{"12:30:45", nil},
		{"dead::beef", nil},
		{"::", nil},
		{"a::b", nil},
		{"1::2::3", nil},
		{"1:2:3:4:5:6:7:8:9", nil},
		{"1:2:3:4:5:6:7", nil},
		{"12345::1", nil},
		{"std::vector Foo::Bar", nil},
		{"00:1A:2B:3C:4D:5E", nil},
		{"1:2:3:4:5:6:7:1.2.3.4", []string{"1.2.3.4"}}, // not IPv6; IPv4 after a colon
		{"::1.2.3", nil},
		{"::1x", nil},
	})
}

func TestEmailNoOverlap(t *testing.T) {
	runCases(t, mustBuiltin(t, "email"), cases{
		{"a@b.com+c@d.com", []string{"b.com+c@d.com"}},
		{"a@b.com.-x@d.com.-y@e.com", []string{"d.com.-y@e.com"}},
		{"ann@ex.com... and ann@ex.com.", []string{"ann@ex.com", "ann@ex.com"}},
		{"ann@ex.com%", nil},
	})
}

// TestIBANAllCountries builds a valid IBAN for every country of the table,
// run together and printed, and checks that it matches and that one more
// or one fewer character does not.
func TestIBANAllCountries(t *testing.T) {
	f := mustBuiltin(t, "iban")
	countries := 0
	for c1 := byte('A'); c1 <= 'Z'; c1++ {
		for c2 := byte('A'); c2 <= 'Z'; c2++ {
			n := ibanLength(c1, c2)
			if n == 0 {
				continue
			}
			countries++
			cc := string([]byte{c1, c2})
			if n < 15 || n > 34 {
				t.Errorf("%s: length %d outside 15-34", cc, n)
			}
			bban := strings.Repeat("1234567890X", 4)[:n-4]
			iban := ibanWithCheck(cc, bban)
			var printed strings.Builder
			for i := 0; i < len(iban); i += 4 {
				if i > 0 {
					printed.WriteByte(' ')
				}
				printed.WriteString(iban[i:min(i+4, len(iban))])
			}
			short := ibanWithCheck(cc, bban[:len(bban)-1])
			long := ibanWithCheck(cc, bban+"7")
			runCases(t, f, cases{
				{"x " + iban + ".", []string{iban}},
				{printed.String(), []string{printed.String()}},
				{short, nil},
				{long, nil},
			})
		}
	}
	if countries != 89 {
		t.Errorf("%d countries, want 89 (SWIFT registry)", countries)
	}
}

// TestProseNoMatches runs every builtin over ordinary text full of numbers,
// times, versions and code that must not match.
func TestProseNoMatches(t *testing.T) {
	prose := `Version 1.2.3 was released on 2024-01-15 at 10:30:45 UTC (2024-01-15T10:30:45.123Z).
Call me at 10 or 11; the meeting is in room 1234 on floor 3, extension 4567.
It costs $1,234.56 or €99.99, and order #123456789 shipped on 12/05/2024 (12.05.2024).
Use std::vector<int> and Foo::Bar in C++; a::b is a scope, and so is dead::beef.
The ratio is 3:2, John 3:16 is a verse, and the score was 21-17.
MAC 00:1A:2B:3C:4D:5E, UUID 123e4567-e89b-12d3-a456-426614174000, hash 0xdeadbeef.
Chrome 120.0.6099.109 and build 1700000000000 (a millisecond timestamp).
Revenue grew 8% to 1 234 567 dollars; population 7,900,000,000; pi is 3.14159265358979.
Reply to @alice or visit example.com/path?q=1; npm i @types/node; git tag v1.2.3.
Each token: a unit of text. Here's the secret: practice. The password: strong.
-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ
-----END CERTIFICATE-----
Risk-free task-based disk-backed sk-learn models; ask-me-anything threads.
ISBN 978-3-16-148410-0, phone-like 12-34-56, part 4111-22, zip 94105-1234.
`
	for _, name := range BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			if got := found(mustBuiltin(t, name), prose); len(got) != 0 {
				t.Errorf("matches in prose: %q", got)
			}
		})
	}
}
