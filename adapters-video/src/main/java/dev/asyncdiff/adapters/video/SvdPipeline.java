package dev.asyncdiff.adapters.video;

import dev.asyncdiff.adapters.sd.DenoiserPipeline;
import dev.asyncdiff.adapters.sd.LatentNoise;
import dev.asyncdiff.adapters.sd.TimestepContract;
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
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.spi.PipelineContext;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stable Video Diffusion image-to-video, as diffusers' {@code StableVideoDiffusionPipeline}: the still image's CLIP
 * embedding ({@link ImageEmbedder}) as the UNet's {@code encoder_hidden_states}, its VAE latents after noise
 * augmentation ({@link StillLatents}) concatenated to every frame's latents every step ({@link FrameChannels}),
 * {@code added_time_ids} = [fps − 1, motion bucket, noise augmentation], zeros for the unconditional branch,
 * guidance ramped linearly from the minimum scale at the first frame to the maximum at the last
 * ({@link Guidance#perFrame}), the folder's sampler (EDM Euler: v-prediction, Karras sigmas, continuous timesteps),
 * and the temporal VAE decoder in chunks ({@link TemporalDecoder}). Latents are {@code [clips, frames, 4, h, w]};
 * every strategy runs the UNet, split or whole.
 */
public final class SvdPipeline extends VideoPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(SvdPipeline.class);
    private static final long SAMPLER_RNG_SALT = 0x9E3779B97F4A7C15L;
    private static final long STILL_NOISE_SALT = 0x5DEECE66DL;

    private final ImageEmbedder embedder;
    private final StillLatents stillLatents;
    private final TemporalDecoder decoder;
    private final String schedulerClass;

    private SvdPipeline(VideoFolder folder, PipelineContext context) {
        super(folder, context);
        this.schedulerClass = folder.schedulerClass();
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            this.embedder = track(opened, new ImageEmbedder(folder, context));
            this.stillLatents = track(opened, new StillLatents(folder, context));
            this.decoder = track(opened, new TemporalDecoder(folder, context));
        } catch (RuntimeException e) {
            opened.forEach(DenoiserPipeline::closeQuietly);
            throw e;
        }
        LOG.info("opened {} {}", folder.family().displayName(), folder.directory());
    }

    /**
     * Opens the SVD folder at {@code modelDir}. The pipeline owns {@code context}; when this method throws, the
     * caller closes it.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the folder is missing
     * @throws dev.asyncdiff.api.MalformedModelException when it is not a complete SVD folder
     * @throws IllegalArgumentException                  when it is another family's folder
     */
    public static SvdPipeline open(Path modelDir, PipelineContext context) {
        VideoFolder folder = VideoFolder.open(modelDir, VideoFamily.SVD);
        return new SvdPipeline(folder, context);
    }

    @Override
    protected List<AutoCloseable> models() {
        return List.of(embedder, stillLatents, decoder);
    }

    @Override
    Clips produce(GenerationRequest request) {
        VideoOptions video = request.video();
        BufferedImage still = request.initImage();
        boolean sized = request.width() > 0 && request.height() > 0;
        int width = request.width() > 0 ? request.width() : still.getWidth();
        int height = request.height() > 0 ? request.height() : still.getHeight();
        checkSize(width, height, sized ? "the requested size" : "the still image (and no size was given)");
        int frames = frames(request);
        double maxGuidance = request.guidanceScale() != null ? request.guidanceScale()
                : VideoFamily.SVD.defaultGuidance();
        boolean guided = maxGuidance > 1.0;
        int clips = request.numImages();
        int factor = folder.sdView().vaeScaleFactor();
        int h = height / factor;
        int w = width / factor;
        int channels = stillLatents.channels();
        if (folder.unetInChannels() != 2 * channels) {
            throw new IllegalArgumentException("the SVD UNet in " + folder.directory() + " takes "
                    + folder.unetInChannels() + " input channels; expected " + 2 * channels
                    + " (the latents and the still's latents)");
        }
        CancellationToken cancellation = request.cancellation();
        GenerationListener listener = request.listener();

        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.ENCODE_IMAGE);
        long start = System.nanoTime();
        float[] embedding = embedder.embed(Images.toTensorData(still, still.getWidth(), still.getHeight()),
                still.getHeight(), still.getWidth());
        float[] stillPixels = Images.toTensorData(still, width, height);
        int perStill = channels * h * w;
        // each clip's still is noised from its own seed, so that seed + i regenerates clip i alone
        float[] perFrame = new float[clips * frames * perStill];
        for (int clip = 0; clip < clips; clip++) {
            cancellation.throwIfCancelled();
            float[] noise = LatentNoise.gaussian((request.seed() + clip) ^ STILL_NOISE_SALT, 0, stillPixels.length);
            float[] noised = new float[stillPixels.length];
            for (int i = 0; i < noised.length; i++) {
                noised[i] = (float) (stillPixels[i] + video.noiseAugStrength() * noise[i]);
            }
            float[] latent = stillLatents.encode(noised, height, width);
            for (int f = 0; f < frames; f++) {
                System.arraycopy(latent, 0, perFrame, (clip * frames + f) * perStill, perStill);
            }
        }
        long encoded = System.nanoTime();

        NoiseScheduler scheduler = context.sampler(folder.sdView().schedulerConfig(), request.scheduler());
        scheduler.setTimesteps(request.steps());
        double[] timesteps = scheduler.timesteps();
        int perClip = frames * channels * h * w;
        float[] latents = LatentNoise.batch(request.seed(), clips, perClip);
        float sigma = (float) scheduler.initNoiseSigma();
        for (int i = 0; i < latents.length; i++) {
            latents[i] *= sigma;
        }
        cancellation.throwIfCancelled();
        listener.onPhase(GenerationPhase.DENOISE);
        ParallelStrategy loop = denoiser.strategy(h, w, frames, () -> folder.denoiserInputShapes(frames, h, w));
        String sampler = request.scheduler() != null ? request.scheduler() : schedulerClass;
        TimestepContract.check(loop.denoiserInputs(), timesteps, sampler, folder.modelFile("unet"));
        Guidance guidance = guided ? Guidance.perFrame(linspace(video.minGuidanceScale(), maxGuidance, frames), 1)
                : Guidance.none();
        float[] denoised;
        try (NamedTensors conditioning = conditioning(embedding, video, clips, guided);
             Tensor in = Tensor.ofFloats(latents, clips, frames, channels, h, w);
             Tensor out = loop.denoise(new DenoiseRequest(scheduler, in, conditioning.asMap(), guidance,
                     new FrameChannels(perFrame, channels), new SplittableRandom(request.seed() ^ SAMPLER_RNG_SALT),
                     listener::onStep, cancellation, timesteps))) {
            denoised = out.toFloatArray();
        }
        long denoiseDone = System.nanoTime();

        listener.onPhase(GenerationPhase.DECODE);
        List<float[]> decoded = new ArrayList<>(clips * frames);
        List<String> parameters = new ArrayList<>(clips);
        for (int clip = 0; clip < clips; clip++) {
            decoded.addAll(decoder.decode(denoised, clip * perClip, frames, h, w, video.decodeChunkSize(),
                    clip * frames, clips * frames, listener, cancellation));
            parameters.add(parameters(request, sampler, maxGuidance, width, height, frames, request.seed() + clip));
        }
        long decodeDone = System.nanoTime();
        PhaseTimings timings = new PhaseTimings(Duration.ZERO, Duration.ofNanos(encoded - start),
                Duration.ofNanos(denoiseDone - encoded), Duration.ofNanos(decodeDone - denoiseDone));
        LOG.debug("made {} clip(s) of {} frames at {}x{} in {}", clips, frames, width, height, timings.summary());
        return new Clips(denoised, new long[] {clips, frames, channels, h, w}, decoded, width, height, frames,
                video.fps(), timesteps.length, timings, parameters);
    }

    /** {@code encoder_hidden_states} [rows, 1, D] and {@code added_time_ids} [rows, 3], unconditional rows first. */
    private static NamedTensors conditioning(float[] embedding, VideoOptions video, int clips, boolean guided) {
        int rows = guided ? 2 * clips : clips;
        float[] hidden = new float[rows * embedding.length];
        float[] timeIds = new float[rows * 3];
        for (int row = 0; row < rows; row++) {
            if (!guided || row >= clips) {
                System.arraycopy(embedding, 0, hidden, row * embedding.length, embedding.length);
            }
            timeIds[row * 3] = (float) (video.fps() - 1);
            timeIds[row * 3 + 1] = video.motionBucketId();
            timeIds[row * 3 + 2] = (float) video.noiseAugStrength();
        }
        NamedTensors out = new NamedTensors();
        out.put("encoder_hidden_states", Tensor.ofFloats(hidden, rows, 1, embedding.length));
        out.put("added_time_ids", Tensor.ofFloats(timeIds, rows, 3));
        return out;
    }

    /** torch.linspace(from, to, count) in double precision. */
    static double[] linspace(double from, double to, int count) {
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            out[i] = count == 1 ? from : from + (to - from) * i / (count - 1);
        }
        return out;
    }

    private String parameters(GenerationRequest request, String sampler, double maxGuidance, int width, int height,
                              int frames, long seed) {
        VideoOptions video = request.video();
        return String.format(Locale.ROOT, "Image to video%nSteps: %d, Sampler: %s, CFG scale: %s to %s, Seed: %d, "
                        + "Size: %dx%d, Frames: %d, FPS: %s, Motion bucket: %d, Noise augmentation: %s, "
                        + "Decode chunk: %s, Model: %s, Family: %s, Strategy: %s",
                request.steps(), sampler, video.minGuidanceScale(), maxGuidance, seed, width, height, frames,
                video.fps(), video.motionBucketId(), video.noiseAugStrength(),
                video.decodeChunkSize() == 0 ? "all" : video.decodeChunkSize(), folder.directory().getFileName(),
                family(), denoiser.description());
    }
}
