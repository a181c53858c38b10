//! The report as JSON: the serialization of [`Report`] itself, pretty-printed.
//!
//! `scripts/lib/bench_report.py` reads this shape, so the field names of
//! `Report` and its parts are a contract: the test below pins them.

use super::Report;

/// The whole report, pretty-printed.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes")
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;

    #[test]
    fn the_json_report_has_the_documented_keys() {
        let json: serde_json::Value = serde_json::from_str(&report().json()).expect("valid JSON");
        for key in [
            "tool",
            "version",
            "label",
            "command",
            "startedAt",
            "config",
            "environment",
            "run",
            "orders",
            "throughput",
            "events",
            "latencyMs",
            "errors",
            "timeline",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["label"], "smoke");
        assert_eq!(json["config"]["model"], "open");
        assert_eq!(json["config"]["targetRate"], 100.0);
        assert_eq!(json["config"]["pairs"].as_array().map(Vec::len), Some(12));
        assert_eq!(json["orders"]["sent"], 3);
        assert_eq!(json["orders"]["confirmed"], 2);
        assert_eq!(json["orders"]["failed"], 1);
        assert_eq!(json["orders"]["rejected"], 1);
        assert_eq!(json["events"]["received"], 13);
        assert_eq!(json["events"]["lost"], 2);
        assert_eq!(json["events"]["outOfOrder"], 1);
        assert_eq!(json["events"]["clean"], false);
        let mut keys: Vec<&str> = json["events"].as_object().expect("events").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "afterTerminal",
                "clean",
                "duplicated",
                "invalid",
                "lost",
                "missingTerminal",
                "outOfOrder",
                "received",
                "reconnects",
                "untracked"
            ]
        );
        let mut order_keys: Vec<&str> =
            json["orders"].as_object().expect("orders").keys().map(String::as_str).collect();
        order_keys.sort_unstable();
        assert_eq!(
            order_keys,
            [
                "accepted",
                "confirmed",
                "failed",
                "followed",
                "rejected",
                "sent",
                "streamBroken",
                "submitErrors",
                "unanswered",
                "unfinished",
                "warmup"
            ]
        );
        assert_eq!(json["run"]["ended"], "completed");
        assert_eq!(json["run"]["achievedRate"], 100.0);
        for key in ["accept", "submitToTerminal", "submitToConfirmed", "submitToFailed", "workerToClient", "sendLag"] {
            assert!(json["latencyMs"].get(key).is_some(), "missing latencyMs.{key}");
        }
        assert!(json["latencyMs"]["workerToClient"].is_null());
        for key in ["count", "min", "mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(json["latencyMs"]["accept"].get(key).is_some(), "missing percentile {key}");
        }
        assert_eq!(json["latencyMs"]["submitToFailed"]["count"], 1);
        assert_eq!(json["errors"]["submit"]["HTTP 503 UNAVAILABLE"], 1);
        assert_eq!(json["errors"]["orderFailures"]["SLIPPAGE_EXCEEDED"], 1);
        let second = &json["timeline"][0];
        for key in ["second", "sent", "accepted", "confirmed", "failed", "errors"] {
            assert!(second.get(key).is_some(), "missing timeline.{key}");
        }
        assert_eq!(second["sent"], 3);
    }
}
