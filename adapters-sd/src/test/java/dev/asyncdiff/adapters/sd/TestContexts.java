package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.RuntimeConfig;
import java.nio.file.Path;
import java.util.List;

/** Pipeline contexts as the engine makes them, on a backend the test shares and closes. */
final class TestContexts {
    private TestContexts() {
    }

    /** A context on {@code devices} over {@code backend} (the caller's), splits cached under {@code splits}. */
    static PipelineContext on(Backend backend, List<Device> devices, Path splits) {
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(RuntimeConfig.builder().devices(devices).build());
        Engine.Builder engine = Engine.builder(runtime);
        if (splits != null) {
            engine.splitCache(splits);
        }
        return engine.build().context(backend);
    }

    /** A context on {@code cpu:0} over {@code backend}, with the default split cache. */
    static PipelineContext on(Backend backend) {
        return on(backend, List.of(Device.CPU), null);
    }
}
