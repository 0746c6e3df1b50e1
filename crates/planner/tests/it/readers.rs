//! The benchmark readers on small texts in both formats, and on the real sets when they are beside the repository.

use std::path::PathBuf;

use planner::io::{read_bks, read_li_lim, read_solomon};
use planner::{check, solve, Role};

use crate::iterations;

const SOLOMON: &str = "TINY\r\n\r\nVEHICLE\r\nNUMBER     CAPACITY\r\n  3         20\r\n\r\nCUSTOMER\r\nCUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\r\n \r\n    0      0         0          0          0       1000          0\r\n    1      3         4         10          0        100         10\r\n    2      6         8         10          0        200         10\r\n    3     -3        -4          5         50        300         10\r\n";

const LI_LIM: &str = "2\t10\t1\n0\t0\t0\t0\t0\t1000\t0\t0\t0\n1\t3\t4\t5\t0\t500\t5\t0\t2\n2\t6\t8\t-5\t0\t500\t5\t1\t0\n";

#[test]
fn solomon_text_reads_and_solves() {
    let inst = read_solomon("tiny", SOLOMON).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inst.problem.stops().len(), 3);
    assert_eq!(inst.problem.vehicles().len(), 3);
    assert_eq!(inst.problem.distance().get(0, 1), 5.0);
    assert_eq!(inst.node_of_stop, vec![1, 2, 3]);
    let plan = solve(&inst.problem, iterations(50));
    let summary = check(&inst.problem, &plan).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        summary.vehicles, 2,
        "25 units of demand need two vehicles of 20"
    );
}

#[test]
fn li_lim_text_reads_pairs() {
    let inst = read_li_lim("tiny", LI_LIM).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inst.problem.stops()[0].role,
        Role::PairedPickup { delivery: 1 }
    );
    assert_eq!(
        inst.problem.stops()[1].role,
        Role::PairedDelivery { pickup: 0 }
    );
    let plan = solve(&inst.problem, iterations(20));
    let summary = check(&inst.problem, &plan).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(summary.vehicles, 1);
    assert!((summary.distance - 20.0).abs() < 1e-9);
}

#[test]
fn broken_text_names_the_line() {
    let err = read_li_lim("bad", "2 10 1\n0 0 0 0 0 1000 0 0 0\n2 1 1 1 0 10 0 0 0\n")
        .err()
        .map(|e| e.field);
    assert_eq!(err, Some("line 3".to_string()));
    let err = read_solomon("bad", "nothing here").err().map(|e| e.field);
    assert_eq!(err, Some("VEHICLE".to_string()));
    assert!(read_bks("instance,set,objective,vehicles,distance\nc101,solomon,x,ten,1\n").is_err());
}

fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/benchmarks/vrp");
    if dir.join("bks.csv").exists() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("../shared/benchmarks/vrp is missing; CI must have it beside the clone");
    }
    eprintln!("skipped: ../shared/benchmarks/vrp is not beside the repository");
    None
}

#[test]
fn every_benchmark_instance_reads_and_a_few_solve_feasibly() {
    let Some(dir) = shared() else { return };
    let bks = read_bks(&std::fs::read_to_string(dir.join("bks.csv")).unwrap_or_default())
        .unwrap_or_default();
    assert!(bks.len() > 200);
    let mut count = 0;
    for (set, paired) in [
        ("solomon", false),
        ("homberger_200", false),
        ("li_lim_100", true),
        ("li_lim_200", true),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(set))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for (k, f) in files.iter().enumerate() {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let inst = if paired {
                read_li_lim(name, &text)
            } else {
                read_solomon(name, &text)
            };
            let inst = inst.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(
                bks.iter().any(|b| b.instance.eq_ignore_ascii_case(name)),
                "no BKS for {name}"
            );
            count += 1;
            // Solve a sample of each set briefly; the plan must pass the checker and serve everyone.
            if k % 20 == 0 {
                let plan = solve(&inst.problem, iterations(30));
                let s = check(&inst.problem, &plan).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                assert_eq!(s.unassigned, 0.0, "{name}");
            }
        }
    }
    assert_eq!(count, 56 + 60 + 56 + 60);
}
