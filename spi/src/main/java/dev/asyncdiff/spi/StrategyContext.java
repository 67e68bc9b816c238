package dev.asyncdiff.spi;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import java.util.List;

/**
 * What a strategy is created with.
 *
 * @param config   the asynchronous settings (modelN 1 for plain sequential denoising)
 * @param denoiser where the component files come from
 * @param backend  the backend that loads them; owned by the caller, who closes it after the strategy
 * @param devices  the devices to place components on, in order
 */
public record StrategyContext(AsyncConfig config, DenoiserSource denoiser, Backend backend, List<Device> devices) {
    public StrategyContext {
        if (config == null || denoiser == null || backend == null || devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("a strategy needs a config, a denoiser source, a backend and devices");
        }
        devices = List.copyOf(devices);
    }
}
