package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.Guidance;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.Resample;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Stable Diffusion x4 upscaler, as diffusers' {@code StableDiffusionUpscalePipeline}: the low-resolution
 * image in [-1, 1] noised by the {@code low_res_scheduler} (DDPM) at the request's noise level, Gaussian latents
 * of the image's own size, and every step the UNet reads {@code [scaled latents, noised image]} (7 channels,
 * through a {@link StepInputs} hook, so every strategy runs it) with {@code class_labels} = the noise level;
 * classifier-free guidance, the folder's sampler (DDIM with v-prediction), and the VAE decoding
 * {@code latents / 0.08333} to 4× the size.
 *
 * <p>Inputs larger than the tile size ({@link #setTileSize}, default {@value #DEFAULT_TILE_SIZE} pixels) are
 * upscaled tile by tile with {@value #TILE_OVERLAP}-pixel overlaps blended linearly, so memory stays bounded
 * whatever the input size; each tile draws its own noise from the seed and its index.
 */
public final class UpscalePipeline extends ContextPipeline {
    /** Input tiles' side by default: 128 low-resolution pixels, 512 upscaled. */
    public static final int DEFAULT_TILE_SIZE = 128;
    /** Input pixels neighbouring tiles share. */
    static final int TILE_OVERLAP = 16;
    private static final Logger LOG = LoggerFactory.getLogger(UpscalePipeline.class);
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;
    private static final long IMAGE_NOISE_SALT = 0x5DEECE66DL;
    private static final long TILE_SEED_STRIDE = 7919;

    private final PromptConditioner conditioner;
    private final Vae vae;
    private final String schedulerClass;
    private int tileSize = DEFAULT_TILE_SIZE;

    private UpscalePipeline(ModelFolder model, PipelineContext context) {
        super(model, context, "unet");
        this.schedulerClass = ModelFolder.readJson(model.schedulerConfig()).path("_class_name").asText("scheduler");
        ClipTokenizer tokenizer = ClipTokenizer.load(model.directory().resolve("tokenizer"));
        TextEncoder encoder = new TextEncoder(model.modelFile("text_encoder"),
                context.loadModel(model.modelFile("text_encoder")));
        this.conditioner = new PromptConditioner(tokenizer, encoder);
        try {
            this.vae = new Vae(model, context);
        } catch (RuntimeException e) {
            closeQuietly(conditioner);
            throw e;
        }
        LOG.info("opened x4 upscaler {} ({})", model.directory(), model.pipelineClass());
    }

    /**
     * Opens the x4 upscaler folder at {@code modelDir}. The pipeline owns {@code context}; when this method
     * throws, the caller closes it.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
     * @throws dev.asyncdiff.api.MalformedModelException when it is not a complete upscaler folder
     */
    public static UpscalePipeline open(Path modelDir, PipelineContext context) {
        ModelFolder model = ModelFolder.open(modelDir);
        if (model.family() != ModelFamily.X4_UPSCALER) {
            throw new IllegalArgumentException(modelDir + " is a " + model.family().displayName()
                    + " folder, not an x4 upscaler");
        }
        return new UpscalePipeline(model, context);
    }

    @Override
    public String family() {
        return ModelFamily.X4_UPSCALER.id();
    }

    /** Upscaling only. */
    @Override
    public Set<RequestKind> requestKinds() {
        return Set.of(RequestKind.UPSCALING);
    }

    /**
     * Upscales inputs larger than {@code pixels} per side tile by tile from the next generation on; 0 never tiles.
     *
     * @throws IllegalArgumentException when {@code pixels} is neither 0 nor a multiple of the UNet's size multiple
     *                                  at least twice the overlap
     */
    public void setTileSize(int pixels) {
        int multiple = model.unetSizeMultiple();
        if (pixels != 0 && (pixels < 2 * TILE_OVERLAP || pixels % multiple != 0)) {
            throw new IllegalArgumentException("the tile size must be 0 (no tiling) or a multiple of " + multiple
                    + " of at least " + 2 * TILE_OVERLAP + " pixels, was " + pixels);
        }
        tileSize = pixels;
    }

    /** The tile size in input pixels (0: no tiling). */
    public int tileSize() {
        return tileSize;
    }

    @Override
    Vae vae() {
        return vae;
    }

    @Override
    protected List<AutoCloseable> models() {
        return List.of(conditioner, vae);
    }

    @Override
    Generated produce(GenerationRequest request) {
        requireOpen();
        int noiseLevel = request.noiseLevel();
        if (noiseLevel > model.maxNoiseLevel()) {
            throw new IllegalArgumentException("noise level " + noiseLevel + " is above the upscaler's max_noise_level "
                    + model.maxNoiseLevel());
        }
        BufferedImage image = request.initImage();
        int width = request.width() > 0 ? request.width() : image.getWidth();
        int height = request.height() > 0 ? request.height() : image.getHeight();
        int multiple = model.unetSizeMultiple();
        if (width % multiple != 0 || height % multiple != 0) {
            throw new IllegalArgumentException("the upscaler's input must be a multiple of " + multiple + " pixels per "
                    + "side (its UNet halves it " + Integer.numberOfTrailingZeros(multiple) + " times), got " + width
                    + "x" + height);
        }
        double guidance = request.guidanceScale() != null ? request.guidanceScale()
                : ModelFamily.X4_UPSCALER.defaultGuidance();
        boolean guided = guidance > 1.0;
        int batch = request.numImages();
        int factor = vae.scaleFactor();
        CancellationToken cancellation = request.cancellation();
        GenerationListener listener = request.listener();
        float[] lowRes = Images.toTensorData(image, width, height, Resample.BICUBIC);   // the upscaler's processor

        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.ENCODE_TEXT);
        long start = System.nanoTime();
        try (NamedTensors conditioning = conditioner.condition(request.prompt(), request.negativePrompt(), batch, guided,
                height, width)) {
            long[] labels = new long[(int) conditioning.get("encoder_hidden_states").dim(0)];
            Arrays.fill(labels, noiseLevel);
            conditioning.put("class_labels", Tensor.ofLongs(labels, labels.length));
            long textDone = System.nanoTime();
            Tiles tiles = new Tiles(width, height, tileSize, TILE_OVERLAP);
            int channels = vae.latentChannels();
            int latentPlanes = channels * width * height;
            float[] latentSum = new float[batch * latentPlanes];
            List<float[]> pixelSums = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                pixelSums.add(new float[3 * width * factor * height * factor]);
            }
            long decodeNanos = 0;
            List<Tiles.Tile> all = tiles.all();
            listener.onPhase(GenerationPhase.DENOISE);
            for (int t = 0; t < all.size(); t++) {
                Tiles.Tile tile = all.get(t);
                float[] latents = denoiseTile(request, conditioning.asMap(), guidance, crop(lowRes, width, height, tile),
                        tile, request.seed() + TILE_SEED_STRIDE * t);
                int perImage = channels * tile.width() * tile.height();
                for (int i = 0; i < batch; i++) {
                    float[] one = Arrays.copyOfRange(latents, i * perImage, (i + 1) * perImage);
                    float[] imageSum = new float[latentPlanes];
                    tiles.accumulate(tile, one, channels, 1, imageSum);
                    for (int k = 0; k < latentPlanes; k++) {
                        latentSum[i * latentPlanes + k] += imageSum[k];
                    }
                    cancellation.throwIfCancelled();
                    long decodeStart = System.nanoTime();
                    float[] pixels = vae.decodeToTensorData(one, 0, tile.height(), tile.width());
                    decodeNanos += System.nanoTime() - decodeStart;
                    tiles.accumulate(tile, pixels, 3, factor, pixelSums.get(i));
                }
            }
            float[] latentWeights = tiles.weights(1);
            float[] pixelWeights = tiles.weights(factor);
            float[] stitched = new float[latentSum.length];
            List<float[]> pixels = new ArrayList<>();
            List<String> parameters = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                float[] one = Tiles.normalize(Arrays.copyOfRange(latentSum, i * latentPlanes, (i + 1) * latentPlanes),
                        latentWeights);
                System.arraycopy(one, 0, stitched, i * latentPlanes, latentPlanes);
                pixels.add(Tiles.normalize(pixelSums.get(i), pixelWeights));
                parameters.add(parameters(request, guidance, width, height, request.seed() + i, all.size()));
            }
            long done = System.nanoTime();
            PhaseTimings timings = new PhaseTimings(Duration.ofNanos(textDone - start), Duration.ZERO,
                    Duration.ofNanos(done - textDone - decodeNanos), Duration.ofNanos(decodeNanos));
            LOG.debug("upscaled {} image(s) of {}x{} in {} tile(s), {}", batch, width, height, all.size(),
                    timings.summary());
            return new Generated(stitched, pixels, width * factor, height * factor, request.steps(), timings,
                    parameters);
        }
    }

    /** One tile's final latents {@code [batch, channels, tile.height, tile.width]}. */
    private float[] denoiseTile(GenerationRequest request, Map<String, Tensor> conditioning, double guidance,
                                float[] lowRes, Tiles.Tile tile, long seed) {
        int batch = request.numImages();
        int h = tile.height();
        int w = tile.width();
        int channels = vae.latentChannels();
        NoiseScheduler lowResScheduler = context.sampler(model.lowResSchedulerConfig(), null);
        float[] images = new float[batch * lowRes.length];
        for (int i = 0; i < batch; i++) {
            System.arraycopy(lowRes, 0, images, i * lowRes.length, lowRes.length);
        }
        float[] noisedImage;
        try (Tensor clean = Tensor.ofFloats(images, batch, 3, h, w);
             Tensor gaussian = Tensor.ofFloats(LatentNoise.batch(seed ^ IMAGE_NOISE_SALT, batch, lowRes.length),
                     batch, 3, h, w);
             Tensor noised = lowResScheduler.addNoise(clean, gaussian, request.noiseLevel())) {
            noisedImage = noised.toFloatArray();
        }
        NoiseScheduler scheduler = context.sampler(model.schedulerConfig(), request.scheduler());
        StartingLatents origin = StartingLatents.fromNoise(scheduler, request.steps(), seed, batch, channels * h * w);
        double[] timesteps = origin.timesteps();
        ParallelStrategy loop = denoiser.strategy(h, w, () -> model.denoiserInputShapes(h, w));
        TimestepContract.check(loop.denoiserInputs(), timesteps,
                request.scheduler() != null ? request.scheduler() : schedulerClass, model.modelFile("unet"));
        StepInputs withImage = new ExtraChannels(noisedImage, batch, 3);
        try (Tensor in = Tensor.ofFloats(origin.latents(), batch, channels, h, w);
             Tensor out = loop.denoise(new DenoiseRequest(scheduler, in, conditioning, Guidance.of(guidance), withImage,
                     new SplittableRandom(seed ^ SAMPLER_RNG_SALT), request.listener()::onStep,
                     request.cancellation(), timesteps))) {
            return out.toFloatArray();
        }
    }

    /** The planes of {@code tile} cut from {@code chw} ({@code [3, height, width]}). */
    private static float[] crop(float[] chw, int width, int height, Tiles.Tile tile) {
        float[] out = new float[3 * tile.width() * tile.height()];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < tile.height(); y++) {
                System.arraycopy(chw, (c * height + tile.y() + y) * width + tile.x(), out,
                        (c * tile.height() + y) * tile.width(), tile.width());
            }
        }
        return out;
    }

    private String parameters(GenerationRequest request, double guidance, int width, int height, long seed,
                              int tileCount) {
        StringBuilder text = new StringBuilder(request.prompt());
        if (!request.negativePrompt().isEmpty()) {
            text.append("\nNegative prompt: ").append(request.negativePrompt());
        }
        text.append(String.format(Locale.ROOT, "\nSteps: %d, Sampler: %s, CFG scale: %s, Seed: %d, Size: %dx%d, "
                        + "Model: %s, Family: %s, Strategy: %s, Noise level: %d, Upscaled from: %dx%d, Tiles: %d",
                request.steps(), request.scheduler() != null ? request.scheduler() : schedulerClass, guidance, seed,
                width * vae.scaleFactor(), height * vae.scaleFactor(), model.directory().getFileName(), family(),
                denoiser.description(), request.noiseLevel(), width, height, tileCount));
        return text.toString();
    }
}
