package dev.asyncdiff.adapters.controlnet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.asyncdiff.adapters.sd.ModelFamily;
import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.adapters.sd.UNetExtension;
import dev.asyncdiff.api.ControlImage;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.merge.ControlNetMerge;
import dev.asyncdiff.spi.PipelineContext;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One or several ControlNets guiding a Stable Diffusion 1.x, 2.x or XL pipeline, as diffusers'
 * {@code StableDiffusionControlNetPipeline} and {@code StableDiffusionXLControlNetPipeline} do: the control images
 * resized to the output and read in [0, 1] (RGB, or BGR where a ControlNet's config says so), one conditioning
 * scale and guidance window per ControlNet, the residuals of several ControlNets summed, and guess mode (the
 * ControlNets act on guidance's conditional branch alone, residuals scaled by {@code logspace(-1, 0)}).
 *
 * <p>Where the ControlNets run is the {@link Placement}: {@link Placement#MERGED} (the default) merges them into the
 * UNet graph ({@link ControlNetMerge}) so AsyncDiff's planner spreads their cost over the devices with the UNet's;
 * {@link Placement#SEPARATE} runs them whole every step before the (split) UNet, as the original AsyncDiff does.
 */
public final class ControlNets implements UNetExtension {
    /** Where the ControlNets run. */
    public enum Placement {
        /** Merged into the UNet graph: split and balanced with it, each device computing its share. */
        MERGED,
        /** Whole, every step, on the device that runs the models around the loop, before the UNet's components. */
        SEPARATE;

        /** The stable name, {@code merged} or {@code separate}. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final ModelFolder base;
    private final List<ControlNetModel> nets;
    private final Placement placement;
    private final int residuals;
    private final Path denoiser;
    private final List<InferenceSession> sessions;

    private ControlNets(ModelFolder base, List<ControlNetModel> nets, Placement placement, int residuals,
                        Path denoiser, List<InferenceSession> sessions) {
        this.base = base;
        this.nets = nets;
        this.placement = placement;
        this.residuals = residuals;
        this.denoiser = denoiser;
        this.sessions = sessions;
    }

    /**
     * The ControlNets in {@code folders} for the SD 1.x/2.x/XL folder {@code base}; merging or adapting the graphs
     * happens once and is cached under the context's cache folder.
     *
     * @throws IllegalArgumentException naming the problem when the base is not a text-to-image SD 1.x/2.x/XL folder,
     *                                  no ControlNet is given, or a ControlNet was made for another family
     * @throws dev.asyncdiff.api.MalformedModelException when a graph does not fit the ControlNet contract
     */
    public static ControlNets open(ModelFolder base, List<Path> folders, Placement placement, PipelineContext context) {
        if (folders == null || folders.isEmpty()) {
            throw new IllegalArgumentException("ControlNet generation needs at least one ControlNet folder");
        }
        requireBase(base);
        List<ControlNetModel> nets = new ArrayList<>();
        for (Path folder : folders) {
            nets.add(fits(base, ControlNetModel.open(folder)));
        }
        OnnxModel unet = OnnxModel.load(base.modelFile("unet"));
        List<OnnxModel> graphs = nets.stream().map(n -> OnnxModel.load(n.modelFile())).toList();
        int residuals = ControlNetMerge.residualCount(graphs.get(0));
        List<Path> sources = new ArrayList<>(List.of(unet.file()));
        nets.forEach(n -> sources.add(n.modelFile()));
        Path cache = context.cacheDirectory();
        if (placement == Placement.MERGED) {
            List<ControlNetMerge.ControlNet> merging = new ArrayList<>();
            for (int j = 0; j < nets.size(); j++) {
                merging.add(new ControlNetMerge.ControlNet(graphs.get(j), nets.get(j).globalPool()));
            }
            Path merged = DerivedModels.cached(cache, "unet-controlnet", sources,
                    file -> ControlNetMerge.merge(unet, merging).write(file));
            return new ControlNets(base, List.copyOf(nets), placement, residuals, merged, List.of());
        }
        Path residualUnet = ControlNetMerge.takesResiduals(unet) ? unet.file()
                : DerivedModels.cached(cache, "unet-residual-inputs", sources.subList(0, 2),
                        file -> ControlNetMerge.withResidualInputs(unet, graphs.get(0)).write(file));
        List<InferenceSession> sessions = new ArrayList<>();
        try {
            for (OnnxModel graph : graphs) {
                Path unitScale = DerivedModels.cached(cache, "controlnet-unit-scale", List.of(graph.file()),
                        file -> ControlNetMerge.withUnitScale(graph).write(file));
                sessions.add(context.loadModel(unitScale));
            }
        } catch (RuntimeException e) {
            sessions.forEach(InferenceSession::close);
            throw e;
        }
        return new ControlNets(base, List.copyOf(nets), placement, residuals, residualUnet, List.copyOf(sessions));
    }

    private static void requireBase(ModelFolder base) {
        ModelFamily family = base.family();
        if (family != ModelFamily.SD15 && family != ModelFamily.SD21 && family != ModelFamily.SDXL) {
            throw new IllegalArgumentException("ControlNet guides Stable Diffusion 1.x, 2.x and XL; " + base.directory()
                    + " is a " + family.displayName() + " folder");
        }
        int latentChannels = base.config("vae_decoder").path("latent_channels").asInt(4);
        if (base.unetInChannels() != latentChannels) {
            throw new IllegalArgumentException("ControlNet guides a text-to-image UNet; the UNet of " + base.directory()
                    + " takes " + base.unetInChannels() + " input channels (an inpainting UNet?), not "
                    + latentChannels);
        }
    }

    private static ControlNetModel fits(ModelFolder base, ControlNetModel net) {
        if (net.textTime() != base.family().isXl()) {
            throw new IllegalArgumentException("the ControlNet " + net.folder() + " was made for "
                    + (net.textTime() ? "SDXL" : "SD 1.x/2.x") + " (addition_embed_type), the base " + base.directory()
                    + " is " + base.family().displayName());
        }
        int cross = base.config("unet").path("cross_attention_dim").asInt(0);
        if (net.crossAttention() > 0 && cross > 0 && net.crossAttention() != cross) {
            throw new IllegalArgumentException("the ControlNet " + net.folder() + " has cross_attention_dim "
                    + net.crossAttention() + ", the UNet of " + base.directory() + " " + cross
                    + ": it was made for another base model");
        }
        return net;
    }

    /** The ControlNets, in the order control images are given. */
    public List<ControlNetModel> models() {
        return nets;
    }

    /** Where they run. */
    public Placement placement() {
        return placement;
    }

    @Override
    public Path denoiser() {
        return denoiser;
    }

    @Override
    public Set<RequestKind> requestKinds() {
        return EnumSet.of(RequestKind.CONTROLNET);
    }

    @Override
    public Map<String, long[]> inputShapes(int width, int height) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        int factor = base.vaeScaleFactor();
        if (placement == Placement.MERGED) {
            for (int j = 0; j < nets.size(); j++) {
                shapes.put(ControlNetMerge.condInput(j), new long[] {1, 3, height, width});
                shapes.put(ControlNetMerge.scalesInput(j), new long[] {1, residuals});
            }
        } else {
            shapes.putAll(residualShapes(height / factor, width / factor));
        }
        return shapes;
    }

    /**
     * The residuals' shapes at batch 1 for a diffusers UNet at a latent size: {@code conv_in}'s, then per level
     * {@code layers_per_block} at that level's size and a downsampler's (all levels but the last), then the mid
     * block's; channels as the ControlNet declares them.
     */
    private Map<String, long[]> residualShapes(int latentHeight, int latentWidth) {
        JsonNode unet = base.config("unet");
        int levels = unet.path("block_out_channels").size();
        int layers = unet.path("layers_per_block").asInt(2);
        List<TensorSpec> outputs = sessions.get(0).outputs();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        int h = latentHeight;
        int w = latentWidth;
        int i = 0;
        shapes.put(ControlNetMerge.downResidual(i), new long[] {1, channels(outputs, ControlNetMerge.downResidual(i++)), h, w});
        for (int level = 0; level < levels; level++) {
            for (int k = 0; k < layers; k++) {
                String name = ControlNetMerge.downResidual(i++);
                shapes.put(name, new long[] {1, channels(outputs, name), h, w});
            }
            if (level < levels - 1) {
                h = (h + 1) / 2;
                w = (w + 1) / 2;
                String name = ControlNetMerge.downResidual(i++);
                shapes.put(name, new long[] {1, channels(outputs, name), h, w});
            }
        }
        shapes.put(ControlNetMerge.MID_RESIDUAL, new long[] {1, channels(outputs, ControlNetMerge.MID_RESIDUAL), h, w});
        return shapes;
    }

    private static long channels(List<TensorSpec> outputs, String name) {
        return outputs.stream().filter(o -> o.name().equals(name)).findFirst()
                .map(o -> o.shape()[1]).orElseThrow(() -> new IllegalStateException("the ControlNet has no output "
                        + name));
    }

    @Override
    public NamedTensors conditioning(GenerationRequest request, int width, int height, int branches) {
        List<float[]> images = controlImages(request, width, height);
        NamedTensors added = new NamedTensors();
        if (placement == Placement.SEPARATE) {
            return added;
        }
        int copies = branches * request.numImages();
        for (int j = 0; j < nets.size(); j++) {
            added.put(ControlNetMerge.condInput(j), Tensor.ofFloats(repeat(images.get(j), copies), copies, 3, height,
                    width));
        }
        return added;
    }

    /**
     * The control images as {@code [3, height, width]} in [0, 1], resized to the output (Pillow's Lanczos, as
     * diffusers) where their size differs, in each ControlNet's channel order.
     *
     * @throws IllegalArgumentException when the request gives a control image count other than one per ControlNet
     */
    private List<float[]> controlImages(GenerationRequest request, int width, int height) {
        if (request.controls().size() != nets.size()) {
            throw new IllegalArgumentException("the pipeline has " + nets.size() + " ControlNet(s) "
                    + nets.stream().map(ControlNetModel::name).toList() + ": give one control image each, got "
                    + request.controls().size());
        }
        List<float[]> out = new ArrayList<>();
        for (int j = 0; j < nets.size(); j++) {
            BufferedImage image = request.controls().get(j).image();
            BufferedImage sized = image.getWidth() == width && image.getHeight() == height ? image
                    : Images.resize(image, width, height);
            int plane = width * height;
            float[] chw = new float[3 * plane];
            boolean bgr = nets.get(j).bgr();
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int rgb = sized.getRGB(x, y);
                    int p = y * width + x;
                    float r = ((rgb >> 16) & 0xFF) / 255f;
                    float b = (rgb & 0xFF) / 255f;
                    chw[p] = bgr ? b : r;
                    chw[p + plane] = ((rgb >> 8) & 0xFF) / 255f;
                    chw[p + 2 * plane] = bgr ? r : b;
                }
            }
            out.add(chw);
        }
        return out;
    }

    static float[] repeat(float[] one, int copies) {
        float[] out = new float[one.length * copies];
        for (int c = 0; c < copies; c++) {
            System.arraycopy(one, 0, out, c * one.length, one.length);
        }
        return out;
    }

    @Override
    public StepInputs stepInputs(GenerationRequest request, NamedTensors prompt) {
        boolean guess = request.guessMode() || nets.get(0).globalPool();
        if (placement == Placement.MERGED) {
            return (step, scaled) -> {
                int batch = (int) scaled.shape()[0];
                NamedTensors inputs = new NamedTensors().put(StepInputs.SAMPLE, scaled.to(scaled.dtype()));
                for (int j = 0; j < nets.size(); j++) {
                    inputs.put(ControlNetMerge.scalesInput(j), Tensor.ofFloats(scales(request, j, step, guess, batch),
                            batch, residuals));
                }
                return inputs;
            };
        }
        int width = request.width() > 0 ? request.width() : base.defaultImageSize();
        int height = request.height() > 0 ? request.height() : base.defaultImageSize();
        return new SeparateControlNets(nets, sessions, residuals, controlImages(request, width, height), width, height,
                prompt, (step, j, batch) -> scales(request, j, step, guess, batch));
    }

    /**
     * ControlNet j's scale per image and residual at a step: its conditioning scale, times guess mode's
     * {@code logspace(-1, 0)} over the residuals (mid block last) unless it pools globally; zero outside its guidance
     * window and, in guess mode, on the unconditional branch.
     */
    private float[] scales(GenerationRequest request, int j, StepContext step, boolean guess, int batch) {
        ControlImage control = request.controls().get(j);
        float[] out = new float[batch * residuals];
        boolean off = !control.actsAt(step.step(), step.steps()) || guess && step.branches() == 2 && !step.conditional();
        if (off) {
            return out;
        }
        boolean logspace = guess && !nets.get(j).globalPool();
        for (int i = 0; i < residuals; i++) {
            double factor = logspace ? (float) Math.pow(10, -1 + (double) i / (residuals - 1)) : 1.0;
            float value = (float) (factor * control.scale());
            for (int image = 0; image < batch; image++) {
                out[image * residuals + i] = value;
            }
        }
        return out;
    }

    @Override
    public String describe(GenerationRequest request) {
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < nets.size() && j < request.controls().size(); j++) {
            ControlImage control = request.controls().get(j);
            text.append(String.format(Locale.ROOT, ", ControlNet %d: %s (scale %s%s)", j, nets.get(j).name(),
                    control.scale(), control.start() > 0 || control.end() < 1
                            ? String.format(Locale.ROOT, ", steps %s-%s", control.start(), control.end()) : ""));
        }
        if (request.guessMode()) {
            text.append(", Guess mode");
        }
        return text.append(", ControlNet placement: ").append(placement.id()).toString();
    }

    @Override
    public void close() {
        sessions.forEach(InferenceSession::close);
    }
}
