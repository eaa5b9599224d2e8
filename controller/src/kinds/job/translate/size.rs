//! The Fargate task sizes, and the smallest one that holds what a pod template asks for.
//!
//! The table is the one in the ECS Developer Guide, "Task CPU and memory" / "Troubleshoot Amazon ECS
//! task definition invalid CPU or memory errors" (the same as the TaskDefinition CRD's rule in
//! `api/task_definition.rs`): CPU units, then the memory (MiB) each allows.

/// The largest Fargate task: 16 vCPU.
pub(super) const MAX_CPU: u32 = 16384;
/// The largest Fargate task: 120 GiB.
pub(super) const MAX_MEMORY: u32 = 122_880;

/// `(cpu, first memory, last memory, step)`; cpu 256 takes 512, 1024 and 2048 (listed apart).
const TIERS: [(u32, u32, u32, u32); 6] = [
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (MAX_CPU, 32768, MAX_MEMORY, 8192),
];

/// The memory sizes (MiB) ECS accepts with `cpu` units, smallest first.
fn memories(cpu: u32) -> Vec<u32> {
    if cpu == 256 {
        return vec![512, 1024, 2048];
    }
    TIERS
        .iter()
        .filter(|t| t.0 == cpu)
        .flat_map(|&(_, first, last, step)| (first..=last).step_by(step as usize))
        .collect()
}

/// The smallest Fargate size (cpu units, MiB) with at least `cpu` units and `memory` MiB: the least
/// cpu that has room for the memory, then the least memory of that cpu. `None` past 16 vCPU or 120 GiB.
pub(super) fn round_up(cpu: u128, memory: u128) -> Option<(u32, u32)> {
    std::iter::once(256)
        .chain(TIERS.iter().map(|t| t.0))
        .filter(|&c| u128::from(c) >= cpu)
        .find_map(|c| {
            memories(c)
                .into_iter()
                .find(|&m| u128::from(m) >= memory)
                .map(|m| (c, m))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_asked_is_the_smallest_size() {
        assert_eq!(round_up(0, 0), Some((256, 512)));
        assert_eq!(round_up(256, 512), Some((256, 512)));
    }

    #[test]
    fn each_resource_rounds_up_to_the_next_valid_combination() {
        // 0.3 vCPU = 308 units: past 256, so 512 with its least memory.
        assert_eq!(round_up(308, 0), Some((512, 1024)));
        assert_eq!(round_up(256, 513), Some((256, 1024)));
        assert_eq!(round_up(256, 1025), Some((256, 2048)));
        // 256 units hold at most 2 GiB: 3 GiB needs 512 units.
        assert_eq!(round_up(256, 2049), Some((512, 3072)));
        assert_eq!(round_up(1024, 8192), Some((1024, 8192)));
        assert_eq!(round_up(1024, 8193), Some((2048, 9216)));
        // 4 vCPU hold at most 30 GiB: 4 vCPU and 31 GiB need 8 vCPU, whose memory steps by 4 GiB.
        assert_eq!(round_up(4096, 31 * 1024), Some((8192, 32768)));
        assert_eq!(round_up(8193, 0), Some((16384, 32768)));
        assert_eq!(round_up(16384, 122_880), Some((16384, 122_880)));
        assert_eq!(round_up(16384, 122_873), Some((16384, 122_880)));
    }

    #[test]
    fn past_sixteen_vcpu_or_120_gib_there_is_no_size() {
        assert_eq!(round_up(16385, 0), None);
        assert_eq!(round_up(17 * 1024, 0), None);
        assert_eq!(round_up(0, 121 * 1024), None);
        assert_eq!(round_up(u128::MAX, u128::MAX), None);
    }

    #[test]
    fn every_listed_size_is_its_own_rounding() {
        let cpus = std::iter::once(256).chain(TIERS.iter().map(|t| t.0));
        let all: Vec<(u32, u32)> = cpus
            .flat_map(|c| memories(c).into_iter().map(move |m| (c, m)))
            .collect();
        // 3 + 4 + 7 + 13 + 23 + 12 + 12 sizes, as the ECS table lists them.
        assert_eq!(all.len(), 74);
        for &(c, m) in &all {
            let rounded = round_up(u128::from(c), u128::from(m));
            // A valid size asks for nothing more.
            assert!(
                rounded.is_some_and(|(rc, rm)| rc == c && rm == m),
                "{c}/{m}: {rounded:?}"
            );
        }
    }
}
