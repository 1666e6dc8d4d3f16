//! The tokio `current_thread` column of `bench/runtime.ts`: one workload per process, named on
//! the command line with its sizes and run `runs` times on one runtime (warm-up runs, then the
//! measured one), each run printing one JSON line `{"wallMs", "ops", "rssGrowthBytes"}` that the
//! TypeScript driver turns into ns per operation and bytes per task.
//!
//! Usage: runtime-bench-tokio <runs> <yield N K | spawn N | pingpong M | sleep N | timers N | select M>

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::time::{sleep, Sleep};

/// A field of /proc/self/status in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// N tasks, each yielding K times: every yield is one poll of the task.
async fn yields(tasks: u64, yields: u64) -> u64 {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            tokio::spawn(async move {
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    tasks * yields
}

/// N empty tasks spawned, then joined.
async fn spawns(tasks: u64) -> u64 {
    let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(async {})).collect();
    for handle in handles {
        handle.await.unwrap();
    }
    tasks
}

/// Two tasks waking each other M times each.
async fn ping_pong(rounds: u64) -> u64 {
    let ping = Arc::new(Notify::new());
    let pong = Arc::new(Notify::new());
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let other = tokio::spawn(async move {
        for _ in 0..rounds {
            ping2.notified().await;
            pong2.notify_one();
        }
    });
    for _ in 0..rounds {
        ping.notify_one();
        pong.notified().await;
    }
    other.await.unwrap();
    rounds * 2
}

/// N tasks, each sleeping 200 to 249 ms.
async fn sleepers(tasks: u64) -> u64 {
    let handles: Vec<_> = (0..tasks)
        .map(|index| {
            tokio::spawn(async move { sleep(Duration::from_millis(200 + index % 50)).await })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    tasks
}

/// N timers armed (each sleep polled once, with deadlines spread over 1 to 10 s), then all
/// cancelled (dropped) before any fires.
async fn timers(count: u64) -> u64 {
    let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..count)
        .map(|index| Box::pin(sleep(Duration::from_millis(1000 + (index * 7919) % 9000))))
        .collect();
    poll_fn(|cx| {
        for entry in sleeps.iter_mut() {
            assert!(entry.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(())
    })
    .await;
    drop(sleeps);
    count
}

/// M rounds of: a datagram sent to a socket, then a select of a 1 s sleep against its receive.
async fn select_recv(rounds: u64) -> u64 {
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.connect(server.local_addr().unwrap()).await.unwrap();
    let payload = [7u8; 32];
    let mut buffer = [0u8; 2048];
    for _ in 0..rounds {
        client.send(&payload).await.unwrap();
        tokio::select! {
            biased;
            _ = sleep(Duration::from_secs(1)) => panic!("no datagram within a second"),
            received = server.recv_from(&mut buffer) => assert_eq!(received.unwrap().0, payload.len()),
        }
    }
    rounds
}

fn number(args: &[String], index: usize) -> u64 {
    args.get(index).and_then(|value| value.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: runtime-bench-tokio <runs> <yield N K | spawn N | pingpong M | sleep N | timers N | select M>");
        std::process::exit(2)
    })
}

/// Runs the workload named in `args` once.
async fn workload(args: &[String]) -> u64 {
    match args.get(2).map(String::as_str) {
        Some("yield") => yields(number(args, 3), number(args, 4)).await,
        Some("spawn") => spawns(number(args, 3)).await,
        Some("pingpong") => ping_pong(number(args, 3)).await,
        Some("sleep") => sleepers(number(args, 3)).await,
        Some("timers") => timers(number(args, 3)).await,
        Some("select") => select_recv(number(args, 3)).await,
        _ => number(args, usize::MAX),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = number(&args, 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Only the first run's memory says what the workload costs: VmHWM is the process's peak,
    // and later runs reuse what earlier ones freed (as in the Bun processes).
    for _ in 0..runs {
        let rss_before = status_bytes("VmRSS:");
        let started = Instant::now();
        let ops = runtime.block_on(workload(&args));
        let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let growth = status_bytes("VmHWM:").saturating_sub(rss_before);
        println!("{{\"wallMs\":{wall_ms},\"ops\":{ops},\"rssGrowthBytes\":{growth}}}");
    }
}
