package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.spi.StrategyContext;
import dev.asyncdiff.spi.StrategyProvider;

/** The {@code sequential} strategy: the baseline that runs the denoiser (or its components in order) each step. */
public final class SequentialStrategyProvider implements StrategyProvider {
    @Override
    public String name() {
        return "sequential";
    }

    @Override
    public ParallelStrategy create(StrategyContext context) {
        return WorkerStrategy.sequential(context);
    }
}
