package dev.asyncdiff.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.Link;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.StrategyProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens model folders through the adapter plugins, the way {@code asyncdiff generate} does:
 *
 * <pre>{@code
 * Engine engine = Engine.builder(AsyncDiffRuntime.create(config)).build();
 * try (DiffusionPipeline pipeline = engine.open(modelDir)) {
 *     AsyncDiff.enable(pipeline, AsyncConfig.of(2, 1, false));
 *     GenerationResult result = pipeline.generate(GenerationRequest.builder("a lighthouse").build());
 * }
 * }</pre>
 *
 * <p>The adapter is the {@link ModelAdapterProvider} that supports the folder (its
 * {@code model_index.json} {@code _class_name}); it gets a {@link PipelineContext} in which the engine
 * places encoders and VAE on the first device, splits the denoiser (cached under the split cache),
 * runs it with the {@link StrategyProvider} the configuration selects, and builds samplers from the
 * {@link dev.asyncdiff.spi.SamplerProvider}s. Every provider comes from the runtime, so plugin jars
 * on the class path take part like built-in ones. Immutable and thread-safe; each pipeline it opens
 * is the caller's to close.
 */
public final class Engine {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AsyncDiffRuntime runtime;
    private final SamplerCatalog samplers;
    private final Path splitCache;
    private final Link link;
    private final boolean calibrate;
    private final String strategy;
    private final CommunicatorProvider communicator;

    private Engine(Builder builder) {
        this.runtime = builder.runtime;
        this.samplers = new SamplerCatalog(runtime.samplers());
        this.splitCache = builder.splitCache != null ? builder.splitCache : GraphSplitter.defaultCacheRoot();
        this.link = builder.link;
        this.calibrate = builder.calibrate;
        this.strategy = builder.strategy;
        this.communicator = builder.communicator == null ? null : runtime.communicators().get(builder.communicator);
        if (strategy != null) {
            runtime.strategies().get(strategy);
        }
    }

    /** A builder over {@code runtime}'s configuration and providers. */
    public static Builder builder(AsyncDiffRuntime runtime) {
        return new Builder(runtime);
    }

    /** An engine over {@code runtime} with the default options. */
    public static Engine create(AsyncDiffRuntime runtime) {
        return builder(runtime).build();
    }

    /**
     * Opens the folder with the adapter that supports it, on a backend the pipeline owns.
     *
     * @throws ModelNotFoundException   when the folder or its {@code model_index.json} is missing
     * @throws IllegalArgumentException naming the folder's pipeline class and the adapters on the class
     *                                  path when none supports it
     */
    public DiffusionPipeline open(Path modelDir) {
        return open(modelDir, adapterFor(modelDir));
    }

    /**
     * Opens the folder with add-on models (ControlNets …), with the adapter that supports both, on a backend the
     * pipeline owns.
     *
     * @throws ModelNotFoundException   when the folder or its {@code model_index.json} is missing
     * @throws IllegalArgumentException naming the add-ons and the adapters known when no adapter takes them
     */
    public DiffusionPipeline open(Path modelDir, List<AddOn> addOns) {
        return openWith(modelDir, addOns, adapterFor(modelDir, addOns), context());
    }

    /** Opens the folder with {@code adapter}, on a backend the pipeline owns. */
    public DiffusionPipeline open(Path modelDir, ModelAdapterProvider adapter) {
        return openWith(modelDir, List.of(), adapter, context());
    }

    /**
     * Opens the folder with the adapter that supports it on {@code backend}, which stays the caller's
     * to close after the pipeline (to share one backend between several pipelines, as the kit does).
     */
    public DiffusionPipeline open(Path modelDir, Backend backend) {
        return open(modelDir, List.of(), backend);
    }

    /** {@link #open(Path, Backend)} with add-on models. */
    public DiffusionPipeline open(Path modelDir, List<AddOn> addOns, Backend backend) {
        return openWith(modelDir, addOns, adapterFor(modelDir, addOns), context(backend));
    }

    private static DiffusionPipeline openWith(Path modelDir, List<AddOn> addOns, ModelAdapterProvider adapter,
                                              PipelineContext context) {
        try {
            return addOns.isEmpty() ? adapter.open(modelDir, context) : adapter.open(modelDir, addOns, context);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    /** A context for one pipeline on a backend the context opens and closes. */
    public PipelineContext context() {
        return new RuntimePipelineContext(this, runtime.openBackend(), true);
    }

    /** A context for one pipeline on {@code backend}, which stays the caller's to close. */
    public PipelineContext context(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("a pipeline context needs a backend");
        }
        return new RuntimePipelineContext(this, backend, false);
    }

    /**
     * The adapter for {@code modelDir}: the first adapter (by name) whose {@code supports} accepts it.
     *
     * @throws ModelNotFoundException   when the folder or its {@code model_index.json} is missing
     * @throws IllegalArgumentException naming the pipeline class and the adapters known when none does
     */
    public ModelAdapterProvider adapterFor(Path modelDir) {
        return adapterFor(modelDir, List.of());
    }

    /**
     * The adapter for {@code modelDir} with {@code addOns}: the first adapter (by name) whose
     * {@code supports(modelDir, addOns)} accepts them.
     *
     * @throws ModelNotFoundException   when the folder or its {@code model_index.json} is missing
     * @throws IllegalArgumentException naming the pipeline class, the add-ons and the adapters known when none does
     */
    public ModelAdapterProvider adapterFor(Path modelDir, List<AddOn> addOns) {
        Path index = modelDir.resolve("model_index.json");
        if (!Files.isDirectory(modelDir)) {
            throw new ModelNotFoundException(modelDir, "model folder");
        }
        if (!Files.isRegularFile(index)) {
            throw new ModelNotFoundException(index, "model index (model_index.json) of the model folder");
        }
        ProviderRegistry<ModelAdapterProvider> adapters = runtime.adapters();
        for (ModelAdapterProvider adapter : adapters.all()) {
            if (adapter.supports(modelDir, addOns)) {
                return adapter;
            }
        }
        throw new IllegalArgumentException("no adapter opens " + modelDir + " (model_index.json _class_name '"
                + pipelineClass(index) + "')" + (addOns.isEmpty() ? "" : " with " + addOns.stream()
                .map(a -> a.kind() + " " + a.folder()).toList()) + "; adapters on the class path: " + (adapters.names().isEmpty() ? "none"
                : String.join(", ", adapters.names())) + "; add an adapter plugin with --plugins DIR or ASYNCDIFF_PLUGINS");
    }

    private static String pipelineClass(Path index) {
        try {
            JsonNode root = JSON.readTree(index.toFile());
            return root == null ? "" : root.path("_class_name").asText("");
        } catch (IOException e) {
            throw new MalformedModelException(index, "not valid JSON: " + e.getMessage());
        }
    }

    /**
     * The strategy that runs {@code config}: the one the builder named, else {@code sequential} for a
     * configuration that does not split the denoiser and {@code async} for one that does.
     */
    public String strategyName(AsyncConfig config) {
        if (strategy != null) {
            return strategy;
        }
        return config.modelN() == 1 && config.stride() == 1 && !config.timeShift() ? "sequential" : "async";
    }

    /** The samplers of the runtime's sampler providers. */
    public SamplerCatalog samplers() {
        return samplers;
    }


    /** The runtime this engine was built over. */
    public AsyncDiffRuntime runtime() {
        return runtime;
    }

    List<Device> devices() {
        return runtime.config().devices();
    }

    ProviderRegistry<StrategyProvider> strategies() {
        return runtime.strategies();
    }

    Path splitCache() {
        return splitCache;
    }

    Link link() {
        return link;
    }

    boolean calibrate() {
        return calibrate;
    }

    CommunicatorProvider communicator() {
        return communicator;
    }

    @Override
    public String toString() {
        return "Engine[" + runtime.config() + ", adapters " + runtime.adapters().names() + ", strategies "
                + runtime.strategies().names() + "]";
    }

    /** Builds an {@link Engine}. Not thread-safe. */
    public static final class Builder {
        private final AsyncDiffRuntime runtime;
        private Path splitCache;
        private Link link;
        private boolean calibrate;
        private String strategy;
        private String communicator;

        private Builder(AsyncDiffRuntime runtime) {
            if (runtime == null) {
                throw new IllegalArgumentException("an engine needs a runtime");
            }
            this.runtime = runtime;
        }

        /** Where denoiser splits are cached (default {@link GraphSplitter#defaultCacheRoot()}). */
        public Builder splitCache(Path value) {
            this.splitCache = value;
            return this;
        }

        /** The link the denoiser's components exchange tensors over (default: the devices' own). */
        public Builder link(Link value) {
            this.link = value;
            return this;
        }

        /**
         * Whether to time the denoiser's units on the first device of a group before its first split,
         * when no timing for this backend and device kind is stored, and balance the split on them
         * (default false: stored timings if any, else the FLOP estimate).
         */
        public Builder calibrate(boolean value) {
            this.calibrate = value;
            return this;
        }

        /** The strategy provider that runs every configuration (default: by configuration, see {@link #strategyName}). */
        public Builder strategy(String name) {
            this.strategy = name;
            return this;
        }

        /** The communicator provider ranks exchange tensors through (default: the strategy's in-process one). */
        public Builder communicator(String name) {
            this.communicator = name;
            return this;
        }

        /**
         * The engine.
         *
         * @throws IllegalArgumentException listing the known names when a strategy or communicator is unknown
         */
        public Engine build() {
            return new Engine(this);
        }
    }
}
