//! Renders every chart shape to SVG and PNG and checks what lands in the files.

use minlab_reports::{Chart, EventLine, Legend, Marker, RangedPoint, ReportError, Shape, render};

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

#[test]
fn many_ranged_series_with_the_legend_beside_the_plot() {
    if minlab_reports::font::ensure_font().is_err() {
        eprintln!("no font on this machine; skipping");
        return;
    }
    let mut c = Chart::new("Throughput", "clients", "requests/s");
    for i in 0..10 {
        let y = f64::from(i) * 10.0;
        let pts: Vec<RangedPoint> = (1..4)
            .map(|x| RangedPoint {
                x: f64::from(x),
                y: y + f64::from(x),
                low: y,
                high: y + 2.0 * f64::from(x),
            })
            .collect();
        c = c.with_ranged_series(format!("series number {i}"), &pts);
    }
    c.legend = Legend::Right;
    assert_eq!(
        c.series[3].whiskers,
        [(30.0, 32.0), (30.0, 34.0), (30.0, 36.0)]
    );
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("many.png");
    let svg = dir.path().join("many.svg");
    render(&c, &png).unwrap();
    render(&c, &svg).unwrap();
    // The legend widens the image beyond the plot's 1100 pixels.
    let bytes = std::fs::read(&png).unwrap();
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert!(width > minlab_reports::draw::SIZE.0 + 200, "{width}");
    let text = std::fs::read_to_string(&svg).unwrap();
    for i in 0..10 {
        assert!(text.contains(&format!("series number {i}")), "{i}");
    }
    // Series 8 and 9 take the colours of 0 and 1 again, with hollow square dots (two
    // rectangles each: 3 points and the legend glyph) instead of filled circles.
    let mut eight = c.clone();
    eight.series.truncate(8);
    let svg8 = dir.path().join("eight.svg");
    render(&eight, &svg8).unwrap();
    let rects = |t: &str| t.matches("<rect").count();
    let text8 = std::fs::read_to_string(&svg8).unwrap();
    assert_eq!(rects(&text) - rects(&text8), 2 * 2 * (3 + 1));
    if std::env::var_os("MINLAB_KEEP_FIGURES").is_some() {
        std::fs::copy(&png, "/tmp/render-many.png").unwrap();
    }
}
