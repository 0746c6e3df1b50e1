//! Readers for the academic benchmark formats (Solomon / Gehring & Homberger, Li & Lim) and best-known solutions.
//! They parse text handed to them; reading files is the caller's business.

use crate::model::{
    Matrix, ModelError, Problem, Role, Stop, TravelTimes, Vehicle, Window, MAX_DIMS,
};

/// A benchmark instance: the problem and, per stop, the node number in the file.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub problem: Problem,
    pub node_of_stop: Vec<usize>,
    /// Stop index per node number (`None` for the depot).
    pub stop_of_node: Vec<Option<usize>>,
}

fn numbers(line: &str, lineno: usize, expect: usize) -> Result<Vec<f64>, ModelError> {
    let v: Result<Vec<f64>, _> = line.split_whitespace().map(str::parse::<f64>).collect();
    match v {
        Ok(v) if v.len() >= expect => Ok(v),
        _ => Err(ModelError::new(
            format!("line {lineno}"),
            format!("expected {expect} numbers"),
        )),
    }
}

struct Node {
    x: f64,
    y: f64,
    demand: f64,
    ready: f64,
    due: f64,
    service: f64,
    pickup: usize,
    delivery: usize,
}

fn build(
    name: &str,
    nodes: Vec<Node>,
    vehicles: usize,
    capacity: f64,
    paired: bool,
) -> Result<Instance, ModelError> {
    let depot = nodes
        .first()
        .ok_or_else(|| ModelError::new("nodes", "the depot (node 0) is missing"))?;
    let points: Vec<(f64, f64)> = nodes.iter().map(|n| (n.x, n.y)).collect();
    let matrix = Matrix::euclidean(&points);
    let mut stops = Vec::new();
    let mut stop_of_node = vec![None; nodes.len()];
    for (i, _) in nodes.iter().enumerate().skip(1) {
        stop_of_node[i] = Some(stops.len());
        stops.push(i);
    }
    let mut problem_stops = Vec::with_capacity(stops.len());
    for &i in &stops {
        let n = &nodes[i];
        let mut demand = [0; MAX_DIMS];
        demand[0] = n.demand.abs() as i64;
        let role = if !paired {
            Role::Delivery
        } else if n.delivery > 0 {
            let d = stop_of_node.get(n.delivery).copied().flatten();
            Role::PairedPickup {
                delivery: d.ok_or_else(|| {
                    ModelError::new(format!("node {i}"), "names a delivery that is not a node")
                })?,
            }
        } else {
            let p = stop_of_node.get(n.pickup).copied().flatten();
            Role::PairedDelivery {
                pickup: p.ok_or_else(|| {
                    ModelError::new(format!("node {i}"), "names a pickup that is not a node")
                })?,
            }
        };
        problem_stops.push(Stop {
            name: i.to_string(),
            location: i,
            windows: vec![Window::new(n.ready, n.due)],
            service: n.service,
            demand,
            role,
            skills: Vec::new(),
            priority: 1.0,
            vehicle: None,
        });
    }
    if vehicles > 100_000 {
        return Err(ModelError::new("vehicles", "at most 100000 vehicles"));
    }
    let mut cap = [0; MAX_DIMS];
    cap[0] = capacity as i64;
    let fleet = (0..vehicles)
        .map(|k| {
            Vehicle::new(
                format!("v{}", k + 1),
                0,
                Window::new(depot.ready, depot.due),
                cap,
            )
        })
        .collect();
    let problem = Problem::new(
        matrix.clone(),
        TravelTimes::Static(matrix),
        problem_stops,
        fleet,
    )?;
    Ok(Instance {
        name: name.to_string(),
        problem,
        node_of_stop: stops,
        stop_of_node,
    })
}

/// Solomon / Gehring & Homberger: header, `VEHICLE NUMBER CAPACITY`, then `id x y demand ready due service` per node.
pub fn read_solomon(name: &str, text: &str) -> Result<Instance, ModelError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut vehicles = None;
    let mut nodes = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        let line = lines[k].trim();
        if line.starts_with("VEHICLE") {
            // The next line with numbers holds the fleet size and capacity.
            let mut j = k + 1;
            while j < lines.len() && numbers(lines[j], j + 1, 2).is_err() {
                j += 1;
            }
            let v = numbers(lines.get(j).copied().unwrap_or(""), j + 1, 2)?;
            vehicles = Some((v[0], v[1]));
            k = j + 1;
            continue;
        }
        if vehicles.is_some() {
            if let Ok(v) = numbers(line, k + 1, 7) {
                if v[0] as usize != nodes.len() {
                    return Err(ModelError::new(
                        format!("line {}", k + 1),
                        "nodes must be numbered 0, 1, 2, … in order",
                    ));
                }
                nodes.push(Node {
                    x: v[1],
                    y: v[2],
                    demand: v[3],
                    ready: v[4],
                    due: v[5],
                    service: v[6],
                    pickup: 0,
                    delivery: 0,
                });
            }
        }
        k += 1;
    }
    let (count, capacity) =
        vehicles.ok_or_else(|| ModelError::new("VEHICLE", "the fleet section is missing"))?;
    build(name, nodes, count as usize, capacity, false)
}

/// Li & Lim: `vehicles capacity speed`, then `id x y demand ready due service pickup delivery` per node.
pub fn read_li_lim(name: &str, text: &str) -> Result<Instance, ModelError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (n0, first) = lines
        .next()
        .ok_or_else(|| ModelError::new("line 1", "empty file"))?;
    let head = numbers(first, n0 + 1, 2)?;
    let mut nodes = Vec::new();
    for (n, line) in lines {
        let v = numbers(line, n + 1, 9)?;
        if v[0] as usize != nodes.len() {
            return Err(ModelError::new(
                format!("line {}", n + 1),
                "nodes must be numbered 0, 1, 2, … in order",
            ));
        }
        nodes.push(Node {
            x: v[1],
            y: v[2],
            demand: v[3],
            ready: v[4],
            due: v[5],
            service: v[6],
            pickup: v[7] as usize,
            delivery: v[8] as usize,
        });
    }
    build(name, nodes, head[0] as usize, head[1], true)
}

/// One best-known solution row.
#[derive(Debug, Clone, PartialEq)]
pub struct Bks {
    pub instance: String,
    pub set: String,
    pub objective: String,
    pub vehicles: usize,
    pub distance: f64,
}

/// `instance,set,objective,vehicles,distance` with a header line.
pub fn read_bks(text: &str) -> Result<Vec<Bks>, ModelError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.trim().split(',').collect();
        let bad = || {
            ModelError::new(
                format!("bks line {}", n + 1),
                "instance,set,objective,vehicles,distance",
            )
        };
        if f.len() != 5 {
            return Err(bad());
        }
        out.push(Bks {
            instance: f[0].to_string(),
            set: f[1].to_string(),
            objective: f[2].to_string(),
            vehicles: f[3].parse().map_err(|_| bad())?,
            distance: f[4].parse().map_err(|_| bad())?,
        });
    }
    Ok(out)
}
