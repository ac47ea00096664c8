// Package billingtest generates a month of energy order callbacks with
// planted reconciliation findings, and the report and statement comparison
// they must produce, for the tests of billing, api and cmd. The expected
// figures are derived from what was planted, never by running the code
// under test. Pure: standard library, domain, domain/energy and billing.
package billingtest
