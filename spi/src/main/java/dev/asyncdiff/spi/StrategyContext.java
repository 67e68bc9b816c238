package dev.asyncdiff.spi;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import java.util.List;

/**
 * What a strategy is created with.
 *
 * @param config         the asynchronous settings (modelN 1 for plain sequential denoising)
 * @param denoiser       where the component files come from
 * @param backend        the backend that loads them; owned by the caller, who closes it after the strategy
 * @param devices        the devices to place components on, in order
 * @param guidanceGroups 1: guidance branches run in one batch; 2: CFG-parallel, the unconditional branch
 *                       on the first half of {@code devices} and the conditional one on the second half,
 *                       each group running the strategy's own schedule
 * @param communicator   how ranks exchange tensors, or null for the strategy's in-process default
 */
public record StrategyContext(AsyncConfig config, DenoiserSource denoiser, Backend backend, List<Device> devices,
                              int guidanceGroups, CommunicatorProvider communicator) {
    public StrategyContext {
        if (config == null || denoiser == null || backend == null || devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("a strategy needs a config, a denoiser source, a backend and devices");
        }
        if (guidanceGroups != 1 && guidanceGroups != 2) {
            throw new IllegalArgumentException("guidance runs in 1 group (one batch) or 2 (CFG-parallel), was "
                    + guidanceGroups);
        }
        devices = List.copyOf(devices);
        if (devices.size() % guidanceGroups != 0) {
            throw new IllegalArgumentException("CFG-parallel splits the devices into 2 equal groups, got "
                    + devices.size() + " " + devices);
        }
        if (guidanceGroups == 2 && devices.stream().distinct().count() != devices.size()) {
            throw new IllegalArgumentException("CFG-parallel needs two disjoint device groups, got " + devices);
        }
    }

    /** One guidance group (branches in one batch) with the in-process communicator. */
    public StrategyContext(AsyncConfig config, DenoiserSource denoiser, Backend backend, List<Device> devices) {
        this(config, denoiser, backend, devices, 1, null);
    }

    /** The devices of guidance group {@code group}: all of them, or one half for CFG-parallel. */
    public List<Device> groupDevices(int group) {
        if (group < 0 || group >= guidanceGroups) {
            throw new IllegalArgumentException("group must be in [0, " + guidanceGroups + "), was " + group);
        }
        int size = devices.size() / guidanceGroups;
        return devices.subList(group * size, (group + 1) * size);
    }
}
