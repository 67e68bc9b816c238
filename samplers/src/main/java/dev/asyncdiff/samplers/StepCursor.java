package dev.asyncdiff.samplers;

/**
 * The step index of the sigma-based samplers, kept as diffusers keeps {@code _step_index} and
 * {@code _begin_index}: unset after {@code setTimesteps}, set on the first call from the begin
 * index or by locating the timestep in the schedule, then advanced once per step. Not thread-safe.
 */
final class StepCursor {
    private final String sampler;
    private final boolean lastWhenMissing;
    private Integer step;
    private Integer begin;

    /**
     * A cursor for {@code sampler}.
     *
     * @param lastWhenMissing whether a timestep not in the schedule maps to the last index (the
     *                        multistep solvers) instead of failing
     */
    StepCursor(String sampler, boolean lastWhenMissing) {
        this.sampler = sampler;
        this.lastWhenMissing = lastWhenMissing;
    }

    /** Forgets the step and begin index (on {@code setTimesteps}). */
    void reset() {
        step = null;
        begin = null;
    }

    /** Sets the begin index. */
    void setBegin(int index, int length) {
        if (index < 0 || index > length) {
            throw new IllegalArgumentException(sampler + ": begin index must be in [0, " + length + "], was " + index);
        }
        begin = index;
    }

    /** The current step index, initialising it from {@code timestep} on first use. */
    int current(double[] timesteps, double timestep) {
        if (step == null) {
            step = begin != null ? begin : find(timesteps, timestep);
        }
        if (step >= timesteps.length) {
            throw new IllegalStateException(sampler + ": all " + timesteps.length
                    + " prepared timesteps have been stepped; call setTimesteps for a new generation");
        }
        return step;
    }

    /** Whether no step has been taken or located since the last reset. */
    boolean unset() {
        return step == null;
    }

    /** Moves to the next step. */
    void advance() {
        step++;
    }

    /** The index {@code addNoise} uses: located from the timestep unless a begin index was set. */
    int noiseIndex(double[] timesteps, double timestep) {
        if (begin == null) {
            return find(timesteps, timestep);
        }
        return step != null ? step : begin;
    }

    private int find(double[] timesteps, double timestep) {
        int index = ScheduleMath.indexOf(timesteps, timestep);
        if (index < 0) {
            if (lastWhenMissing) {
                return timesteps.length - 1;
            }
            throw ScheduleMath.unknownTimestep(sampler, timestep, timesteps);
        }
        return index;
    }
}
