package dev.asyncdiff.api;

/**
 * What a {@link StepInputs} hook is told about the step it builds inputs for.
 *
 * @param step      the step index k, from 0
 * @param steps     the number of steps of the loop
 * @param timestep  τ<sub>k</sub>, the timestep the sampler steps from
 * @param branch    the guidance branch: 0 unconditional, 1 conditional; 0 without guidance
 * @param branches  the number of guidance branches (1 or 2)
 * @param guessMode whether the unconditional branch gets no control input ({@link Guidance#guessMode()})
 */
public record StepContext(int step, int steps, double timestep, int branch, int branches, boolean guessMode) {
    public StepContext {
        if (step < 0 || step >= steps) {
            throw new IllegalArgumentException("step must be in [0, " + steps + "), was " + step);
        }
        if (branches < 1 || branch < 0 || branch >= branches) {
            throw new IllegalArgumentException("branch must be in [0, " + branches + "), was " + branch);
        }
    }

    /** Whether this is the conditional branch (or the only one, without guidance). */
    public boolean conditional() {
        return branch == branches - 1;
    }
}
