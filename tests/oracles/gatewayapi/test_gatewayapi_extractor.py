"""The conformance extractor reads every request of the in-scope tests, and says what it cannot read."""

from __future__ import annotations

import fnmatch
import textwrap
from pathlib import Path

import gwconformance as conformance


def test_every_in_scope_conformance_test_is_extracted_completely() -> None:
    tests = conformance.conformance_tests(conformance.extracted())
    for pattern in conformance.IN_SCOPE:
        assert fnmatch.filter(tests, pattern), f"no conformance test matches {pattern} in v{conformance.VERSION}"
    for name, test in tests.items():
        if conformance.in_scope(name):
            assert test.requests, f"{name}: no request extracted"
            assert not test.unextracted, f"{name}: {test.unextracted}"
            assert test.manifests, f"{name}: no manifests"


def test_extracted_manifests_exist_in_the_module() -> None:
    directory = conformance.module_dir()
    tests = conformance.conformance_tests(conformance.extracted())
    for test in tests.values():
        if conformance.in_scope(test.name):
            kinds = {obj["kind"] for obj in conformance.manifests(directory, test.manifests)}
            assert {"Gateway", "Service", "HTTPRoute"} <= kinds, test.name


SAMPLE_TEST = """
package tests

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	v1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	"sigs.k8s.io/gateway-api/conformance/utils/http"
	"sigs.k8s.io/gateway-api/conformance/utils/kubernetes"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
	confsuite "sigs.k8s.io/gateway-api/conformance/utils/suite"
)

const prefix = "/api"

var Sample = confsuite.ConformanceTest{
	ShortName: "Sample",
	Manifests: []string{"tests/sample.yaml"},
	Test: func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		ns := confsuite.Namespace
		gwNN := types.NamespacedName{Name: "gw", Namespace: ns}
		gwAddr := kubernetes.GatewayAndHTTPRoutesMustBeAccepted(t, s.Client, s.TimeoutConfig, s.ControllerName,
			kubernetes.NewGatewayRef(gwNN, "web"))
		cases := []http.ExpectedResponse{{
			Request:   http.Request{Path: prefix + "/one?x=1", Headers: map[string]string{"A": "b"}},
			ExpectedRequest: &http.ExpectedRequest{Request: http.Request{Path: "/one?x=1"}},
			Backend:   confsuite.Backend,
			Namespace: ns,
		}}
		cases = append(cases, []http.ExpectedResponse{{
			Request:         http.Request{Method: "POST", Path: "/moved", UnfollowRedirect: true},
			Response:        http.Response{StatusCode: 301},
			RedirectRequest: &roundtripper.RedirectRequest{Host: "example.org"},
		}}...)
		for i := range cases {
			tc := cases[i]
			t.Run(tc.GetTestCaseName(i), func(t *testing.T) {
				http.MakeRequestAndExpectEventuallyConsistentResponse(t, s.RoundTripper, s.TimeoutConfig, gwAddr, tc)
			})
		}
		grant := v1beta1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Name: "grant", Namespace: "other"}}
		s.Client.Delete(ctx, &grant)
		t.Run("after the grant is gone", func(t *testing.T) {
			http.MakeRequestAndExpectEventuallyConsistentResponse(t, s.RoundTripper, s.TimeoutConfig, gwAddr,
				http.ExpectedResponse{Request: http.Request{Path: "/after"}, Response: http.Response{StatusCode: 500}})
		})
		if s.SupportedFeatures.Has("Something") {
			http.MakeRequestAndExpectEventuallyConsistentResponse(t, s.RoundTripper, s.TimeoutConfig, gwAddr,
				http.ExpectedResponse{Request: http.Request{Path: "/maybe"}})
		}
	},
}
"""

SAMPLE_CONSTANTS = """
package suite

const (
	Namespace = "infra"
	Backend   = "infra-backend-" + "v1"
)
"""


def test_extractor_evaluates_constants_appends_loops_and_closures(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "sample.go").write_text(textwrap.dedent(SAMPLE_TEST))
    (tmp_path / "utils" / "suite").mkdir(parents=True)
    (tmp_path / "utils" / "suite" / "consts.go").write_text(SAMPLE_CONSTANTS)

    [sample] = conformance.conformance_tests(conformance.run_extractor(tmp_path)).values()

    assert sample.name == "Sample"
    assert sample.manifests == ("tests/sample.yaml",)
    first, moved, after = sample.requests
    assert first["gateway"] == {"namespace": "infra", "name": "gw", "listeners": ["web"]}
    assert first["request"] == {"host": "", "method": "GET", "path": "/api/one", "query": "x=1",
                                "headers": {"A": "b"}, "websocket": False}
    assert first["expect"]["backend"] == "infra-backend-v1"
    assert first["expect"]["namespace"] == "infra"
    assert first["expect"]["status"] == [200]
    assert first["expect"]["upstream"] == {"path": "/one", "query": "x=1", "host": "", "method": "GET"}
    assert moved["request"]["method"] == "POST"
    assert moved["expect"]["status"] == [301]
    assert moved["expect"]["redirect"] == {"scheme": "http", "host": "example.org", "port": "", "path": "/moved"}
    assert first["deleted"] == moved["deleted"] == []
    assert after["subtest"] == "after the grant is gone"
    assert after["deleted"] == [{"kind": "ReferenceGrant", "namespace": "other", "name": "grant"}]
    assert after["expect"]["status"] == [500]
    [unreadable] = sample.unextracted
    assert "condition the extractor cannot decide" in unreadable["reason"]
