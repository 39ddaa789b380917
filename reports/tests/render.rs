//! Renders every chart shape to SVG and PNG and checks what lands in the files.

use minlab_reports::{Chart, EventLine, Marker, ReportError, Shape, render};

fn sample(shape: Shape) -> Chart {
    let mut c = Chart::new(
        "Latency vs link delay",
        "one-way link delay (ms)",
        "latency (ms)",
    )
    .with_series("MinBFT f = 1", vec![(0.0, 1.0), (1.0, 4.0), (2.0, 8.5)])
    .with_series("MinBFT f = 2", vec![(0.0, 1.5), (1.0, 5.0), (2.0, 9.0)])
    .with_note("PBFT, MinZyzyva: pending");
    c.shape = shape;
    c.categories = vec!["hmac-sha1".into(), "hmac-sha256".into(), "ed25519".into()];
    c.markers.push(Marker {
        label: "paper".into(),
        x: 1.0,
        y: 4.5,
        series: Some(0),
    });
    c.events.push(EventLine {
        x: 1.5,
        label: "view change".into(),
    });
    c
}

#[test]
fn every_shape_renders_to_svg_and_png() {
    if minlab_reports::font::ensure_font().is_err() {
        eprintln!("no font on this machine; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, shape) in [Shape::Lines, Shape::Curve, Shape::Bars]
        .into_iter()
        .enumerate()
    {
        let c = sample(shape);
        let svg = dir.path().join(format!("c{i}.svg"));
        let png = dir.path().join(format!("c{i}.png"));
        render(&c, &svg).unwrap();
        render(&c, &png).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        for s in [
            "Latency vs link delay",
            "one-way link delay (ms)",
            "MinBFT f = 2",
            "pending",
            "paper",
        ] {
            assert!(text.contains(s), "{s} missing from the {shape:?} SVG");
        }
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..4], b"\x89PNG");
        if std::env::var_os("MINLAB_KEEP_FIGURES").is_some() {
            std::fs::copy(&png, format!("/tmp/render-{i}.png")).unwrap();
        }
    }
}

#[test]
fn bad_outputs_are_clear_errors() {
    let c = sample(Shape::Lines);
    let e = render(&c, std::path::Path::new("fig.jpeg")).unwrap_err();
    assert!(matches!(e, ReportError::UnknownFormat { .. }), "{e}");
    let e = render(&Chart::new("t", "x", "y"), std::path::Path::new("fig.svg")).unwrap_err();
    assert!(matches!(e, ReportError::Empty(_)), "{e}");
    let e = render(&c, std::path::Path::new("/nonexistent-dir/fig.png")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir/fig.png"), "{e}");
}
