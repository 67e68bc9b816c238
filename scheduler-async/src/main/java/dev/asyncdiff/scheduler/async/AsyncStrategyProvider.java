package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.spi.StrategyContext;
import dev.asyncdiff.spi.StrategyProvider;

/** The {@code async} strategy: AsyncDiff's asynchronous denoising across devices. */
public final class AsyncStrategyProvider implements StrategyProvider {
    @Override
    public String name() {
        return "async";
    }

    @Override
    public ParallelStrategy create(StrategyContext context) {
        return WorkerStrategy.async(context);
    }
}
