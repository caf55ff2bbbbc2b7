//! The OpenAPI document served at `/api/v1/openapi.json`: a well-formed OpenAPI 3 document
//! (every `$ref` resolves, every operation has responses with descriptions, every path
//! parameter is declared) that describes every entry of `hotline_server::api::ROUTES` — method,
//! path, summary, parameters, security by access level — and the DTO schemas the routes use.
//! The check walks `ROUTES`, so a route added to the table but missing from the document fails.

use hotline_server::api::{Access, BEARER_SCHEME, ROUTES, RouteSpec};
use serde_json::Value;

use crate::fixture::*;

/// The document as a client downloads it.
fn served(h: &TestHotline) -> Value {
    let r = h.get("/api/v1/openapi.json", None).expect(200);
    let ct = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct:?}");
    r.json()
}

/// The names of a path's `{param}` placeholders.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// What is wrong with `route`'s entry in `doc` (empty if nothing).
fn route_problems(doc: &Value, route: &RouteSpec) -> Vec<String> {
    let mut bad = Vec::new();
    let method = route.method.to_ascii_lowercase();
    let Some(op) = doc["paths"][route.path][&method].as_object() else {
        return vec![format!("no {} operation", route.method)];
    };
    match op.get("summary").and_then(Value::as_str) {
        Some(s) if s == route.summary => {}
        other => bad.push(format!(
            "summary {other:?}, ROUTES says {:?}",
            route.summary
        )),
    }
    let responses = op.get("responses").and_then(Value::as_object);
    match responses {
        Some(r) if r.keys().any(|code| code.starts_with('2')) => {}
        _ => bad.push("no success response".into()),
    }
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for name in placeholders(route.path) {
        let declared = params
            .iter()
            .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true);
        if !declared {
            bad.push(format!("path parameter {name:?} is not declared"));
        }
    }
    let security = op.get("security").and_then(Value::as_array);
    let bearer = security.is_some_and(|s| s.iter().any(|req| req.get(BEARER_SCHEME).is_some()));
    match route.access {
        Access::Public if security.is_some_and(|s| !s.is_empty()) => {
            bad.push("a public route requires credentials".into());
        }
        Access::Party | Access::Operator => {
            if !bearer {
                bad.push(format!("no {BEARER_SCHEME:?} security requirement"));
            }
            if responses.is_none_or(|r| !r.contains_key("401")) {
                bad.push("a route that needs a token does not document 401".into());
            }
        }
        Access::Public => {}
    }
    bad
}

/// Every problem of the document against `routes`.
fn document_problems(doc: &Value, routes: &[RouteSpec]) -> Vec<String> {
    routes
        .iter()
        .flat_map(|r| {
            route_problems(doc, r)
                .into_iter()
                .map(move |p| format!("{} {}: {p}", r.method, r.path))
        })
        .collect()
}

/// Every `$ref` in `v`, with where it is.
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref"
                    && let Some(r) = x.as_str()
                {
                    out.push((at.clone(), r));
                }
                refs(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_and_describes_every_route() {
    let h = TestHotline::start();
    let doc = served(&h);

    // An OpenAPI 3 document.
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi: {version:?}");
    for field in ["title", "version"] {
        assert!(
            doc["info"][field].as_str().is_some_and(|s| !s.is_empty()),
            "info.{field} is missing"
        );
    }
    let paths = doc["paths"].as_object().expect("paths is an object");
    for (path, item) in paths {
        assert!(path.starts_with('/'), "path {path:?}");
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} has no responses"));
            for (code, resp) in responses {
                assert!(
                    code.len() == 3 && code.chars().all(|c| c.is_ascii_digit()),
                    "{method} {path}: response code {code:?}"
                );
                assert!(
                    resp["description"].is_string(),
                    "{method} {path} {code}: no description"
                );
                // Every error is an ErrorDto.
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorDto",
                        "{method} {path} {code}"
                    );
                }
            }
        }
    }
    // Every reference resolves within the document.
    let mut all = Vec::new();
    refs(&doc, String::new(), &mut all);
    assert!(!all.is_empty());
    for (at, r) in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: external $ref {r}"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{at}: $ref {r} does not resolve"
        );
    }
    // The DTOs of the statements route, and the bearer scheme.
    for schema in ["SubmitDto", "ReceiptDto", "ErrorDto"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "no schema {schema}"
        );
    }
    let submit = &doc["components"]["schemas"]["SubmitDto"];
    assert_eq!(submit["required"], serde_json::json!(["statement"]));
    assert!(submit["properties"]["payload"].is_object());
    for field in ["id", "id_hex", "index", "new", "receipt"] {
        assert!(
            doc["components"]["schemas"]["ReceiptDto"]["properties"][field].is_object(),
            "ReceiptDto.{field}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"][BEARER_SCHEME]["scheme"],
        "bearer"
    );

    // Every route of the table, as the table says.
    let problems = document_problems(&doc, ROUTES);
    assert!(
        problems.is_empty(),
        "the OpenAPI document disagrees with ROUTES:\n{}",
        problems.join("\n")
    );
    // And nothing that is not a route.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            assert!(
                ROUTES
                    .iter()
                    .any(|r| r.path == path && r.method.eq_ignore_ascii_case(method)),
                "the document has {method} {path}, which is not in ROUTES"
            );
        }
    }
    // It is the document the crate builds.
    let built: Value =
        serde_json::from_str(&hotline_server::api::openapi().to_json().unwrap()).unwrap();
    assert_eq!(doc, built);
}

#[test]
fn a_route_missing_from_the_document_or_described_wrongly_fails_the_check() {
    let h = TestHotline::start();
    let doc = served(&h);
    assert!(document_problems(&doc, ROUTES).is_empty());

    for route in ROUTES {
        let method = route.method.to_ascii_lowercase();
        // The operation removed.
        let mut d = doc.clone();
        d["paths"][route.path]
            .as_object_mut()
            .unwrap()
            .remove(&method);
        let problems = document_problems(&d, ROUTES);
        assert_eq!(
            problems,
            [format!(
                "{} {}: no {} operation",
                route.method, route.path, route.method
            )]
        );
        // Its summary removed.
        let mut d = doc.clone();
        d["paths"][route.path][&method]
            .as_object_mut()
            .unwrap()
            .remove("summary");
        assert_eq!(document_problems(&d, ROUTES).len(), 1, "{}", route.path);
        // Its security dropped, where it needs a token.
        if route.access != Access::Public {
            let mut d = doc.clone();
            d["paths"][route.path][&method]
                .as_object_mut()
                .unwrap()
                .remove("security");
            assert_eq!(document_problems(&d, ROUTES).len(), 1, "{}", route.path);
        }
        // Its path parameters undeclared.
        if !placeholders(route.path).is_empty() {
            let mut d = doc.clone();
            d["paths"][route.path][&method]
                .as_object_mut()
                .unwrap()
                .remove("parameters");
            assert_eq!(
                document_problems(&d, ROUTES).len(),
                placeholders(route.path).len(),
                "{}",
                route.path
            );
        }
    }
    // A route added to the table without being documented.
    let mut routes = ROUTES.to_vec();
    routes.push(RouteSpec {
        method: "GET",
        path: "/api/v1/cases/{case}/export",
        access: Access::Party,
        summary: "a case as a file",
    });
    assert_eq!(
        document_problems(&doc, &routes),
        ["GET /api/v1/cases/{case}/export: no GET operation"]
    );
}
