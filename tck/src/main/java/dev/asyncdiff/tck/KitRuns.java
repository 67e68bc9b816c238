package dev.asyncdiff.tck;

import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ControlImage;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.api.StepProgress;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.ProviderCatalog;
import dev.asyncdiff.spi.RuntimeConfig;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the kit opens the adapter's pipeline on logical CPU devices through a {@link TrackingBackend}, and the
 * generations it runs, memoised by what determines them.
 */
final class KitRuns {
    static final String PROMPT = "a lighthouse on a cliff at dawn, oil painting";
    static final String NEGATIVE = "blurry, low quality";
    static final long SEED = 1234;
    static final double STRENGTH = 0.75;
    /** Frames per clip of the video kinds: enough for temporal layers to mix frames, few enough to stay fast. */
    static final int FRAMES = 3;

    private final CompatibilityKit.Subject subject;
    private final ModelAdapterProvider adapter;
    private final ProviderCatalog catalog;
    private final Map<String, Run> cache = new HashMap<>();
    private int[] imageSize;
    private Set<RequestKind> kinds;

    /**
     * One generation's output.
     *
     * @param latents     the final latents, the whole batch
     * @param pixels      the decoded pixels in [0, 1], the whole batch
     * @param pixelShape  {@code [batch, channels, height, width]} of the pixels
     * @param stepLatents the latents after each denoising step
     */
    record Run(float[] latents, float[] pixels, long[] pixelShape, List<float[]> stepLatents) {
        int steps() {
            return stepLatents.size();
        }
    }

    /**
     * What one generation asks for besides the variant and the schedule.
     *
     * @param seed      the seed
     * @param steps     denoising steps
     * @param guidance  the guidance scale
     * @param prompt    the prompt
     * @param sampler   the sampler, overriding the variant's when not null
     * @param knownBad  whether later components get stale activations (the known-bad reference)
     */
    record Ask(long seed, int steps, double guidance, String prompt, String sampler, boolean knownBad) {
    }

    KitRuns(CompatibilityKit.Subject subject, ModelAdapterProvider adapter, ProviderCatalog catalog) {
        this.subject = subject;
        this.adapter = adapter;
        this.catalog = catalog;
    }

    /** The request kinds the adapter's pipeline serves, asked once. */
    Set<RequestKind> kinds() {
        if (kinds == null) {
            try (Opened opened = open(1)) {
                kinds = Set.copyOf(opened.pipeline.requestKinds());
            }
            if (kinds.isEmpty()) {
                throw new IllegalArgumentException("the adapter's pipeline serves no request kind");
            }
        }
        return kinds;
    }

    /**
     * The variant every schedule and most checks run: text-to-image where the pipeline serves it, else the
     * first kind it serves (an inpainting model serves inpainting alone).
     */
    Variant primary() {
        RequestKind kind = kinds().contains(RequestKind.TEXT_TO_IMAGE) ? RequestKind.TEXT_TO_IMAGE
                : Arrays.stream(RequestKind.values()).filter(kinds()::contains).findFirst().orElseThrow();
        return new Variant(kind.id(), kind, 1, null, Variant.all(CompatibilityKit.MAX_N));
    }

    /** The kit's usual generation: its seed, the subject's steps and guidance, the kit's prompt. */
    Ask usual() {
        return new Ask(SEED, subject.steps(), subject.guidance(), PROMPT, null, false);
    }

    /** The generation of {@code variant} under {@code config} on {@link CompatibilityKit#DEVICES} devices, memoised. */
    Run run(Variant variant, AsyncConfig config, Ask ask) {
        String key = variant.name() + "/" + config + "/" + ask;
        Run cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        try (Opened opened = open(CompatibilityKit.DEVICES)) {
            opened.pipeline.setAsyncConfig(config);
            opened.backend.staleActivations(ask.knownBad());
            Run run = opened.run(variant, ask);
            cache.put(key, run);
            return run;
        }
    }

    /** The pipeline on {@code devices} CPU devices, on a fresh tracking backend; the caller closes it. */
    Opened open(int devices) {
        List<Device> list = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            list.add(Device.cpu(i));
        }
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(RuntimeConfig.builder().backend(subject.backend())
                .devices(list).build(), catalog);
        TrackingBackend tracking = new TrackingBackend(runtime.openBackend());
        PipelineContext context = Engine.create(runtime).context(tracking);
        try {
            return new Opened(tracking, subject.addOns().isEmpty() ? adapter.open(subject.modelFolder(), context)
                    : adapter.open(subject.modelFolder(), subject.addOns(), context));
        } catch (RuntimeException e) {
            context.close();
            tracking.close();
            throw e;
        }
    }

    /** The request {@code ask} makes of {@code variant}, reporting each step's latents to {@code listener}. */
    GenerationRequest request(Variant variant, Ask ask, GenerationListener listener) {
        return builder(variant, ask).listener(listener).build();
    }

    /** A builder of the request {@code ask} makes of {@code variant}, for a check to change. */
    GenerationRequest.Builder builder(Variant variant, Ask ask) {
        GenerationRequest.Builder builder = GenerationRequest.builder(ask.prompt()).negativePrompt(NEGATIVE)
                .steps(ask.steps()).guidanceScale(ask.guidance()).seed(ask.seed()).size(subject.size(), subject.size())
                .numImages(variant.images()).scheduler(ask.sampler() != null ? ask.sampler() : variant.sampler());
        if (variant.kind() == RequestKind.UPSCALING) {
            int[] size = imageSize();
            builder.upscale(initImage(size[0], size[1]), GenerationRequest.DEFAULT_NOISE_LEVEL);
        } else if (variant.kind() == RequestKind.CONTROLNET) {
            int[] size = imageSize();
            long controlNets = subject.addOns().stream().filter(a -> a.kind().equals(AddOn.CONTROLNET)).count();
            for (long j = 0; j < Math.max(1, controlNets); j++) {
                builder.control(ControlImage.of(initImage(size[0], size[1])));
            }
        } else if (variant.kind() == RequestKind.IMAGE_TO_VIDEO) {
            int[] size = imageSize();
            builder.imageToVideo(initImage(size[0], size[1]), VideoOptions.DEFAULT.withFrames(FRAMES));
        } else if (variant.kind() == RequestKind.TEXT_TO_VIDEO) {
            builder.textToVideo(VideoOptions.DEFAULT.withFrames(FRAMES));
        } else if (variant.kind() != RequestKind.TEXT_TO_IMAGE) {
            int[] size = imageSize();
            // one-step generations (split exactness, guidance) run at full strength, so that their step runs
            builder.initImage(initImage(size[0], size[1]), ask.steps() == 1 ? 1.0 : STRENGTH);
            if (variant.kind() == RequestKind.INPAINTING) {
                builder.mask(mask(size[0], size[1]));
            }
        }
        return builder;
    }

    /** The width and height the model generates at: the subject's, or the model's default as a first run shows. */
    private int[] imageSize() {
        if (imageSize == null) {
            if (subject.size() > 0) {
                imageSize = new int[] {subject.size(), subject.size()};
            } else if (kinds().contains(RequestKind.TEXT_TO_IMAGE)) {
                long[] shape = run(primary(), AsyncConfig.SEQUENTIAL, usual()).pixelShape();
                imageSize = new int[] {(int) shape[3], (int) shape[2]};
            } else {
                throw new IllegalArgumentException("the adapter serves no text-to-image generation to learn the "
                        + "model's default size from: give the kit an image size");
            }
        }
        return imageSize;
    }

    /** A deterministic picture with gradients, edges and a disc: structure for image-to-image to keep. */
    static BufferedImage initImage(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double dx = x - width / 2.0;
                double dy = y - height / 2.0;
                boolean disc = dx * dx + dy * dy < width * height / 16.0;
                int r = disc ? 230 : 255 * x / Math.max(1, width - 1);
                int g = disc ? 200 : 255 * y / Math.max(1, height - 1);
                int b = ((x / 8 + y / 8) % 2 == 0) ? 40 : 160;
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return image;
    }

    /** White (repainted) over the left half and a disc on the right, black (kept) elsewhere. */
    static BufferedImage mask(int width, int height) {
        BufferedImage mask = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double dx = x - 3 * width / 4.0;
                double dy = y - height / 2.0;
                boolean repaint = x < width / 2 || dx * dx + dy * dy < width * height / 64.0;
                mask.setRGB(x, y, repaint ? 0xFFFFFF : 0);
            }
        }
        return mask;
    }

    /** A pipeline on its tracking backend; closing closes both. */
    final class Opened implements AutoCloseable {
        final TrackingBackend backend;
        final DiffusionPipeline pipeline;

        Opened(TrackingBackend backend, DiffusionPipeline pipeline) {
            this.backend = backend;
            this.pipeline = pipeline;
        }

        /** The usual text-to-image generation at {@code steps} steps. */
        Run run(int steps) {
            Ask usual = usual();
            return run(primary(), new Ask(usual.seed(), steps, usual.guidance(), usual.prompt(),
                    null, false));
        }

        Run run(Variant variant, Ask ask) {
            List<float[]> steps = new ArrayList<>();
            GenerationListener listener = new GenerationListener() {
                @Override
                public void onStep(StepProgress progress) {
                    if (progress.latents() != null) {
                        steps.add(progress.latents().toFloatArray());
                    }
                }
            };
            try (PipelineOutput output = pipeline.run(request(variant, ask, listener))) {
                return new Run(output.latents().toFloatArray(), output.pixels().toFloatArray(), output.pixels().shape(),
                        List.copyOf(steps));
            }
        }

        @Override
        public void close() {
            try {
                pipeline.close();
            } finally {
                backend.close();
            }
        }
    }
}
