package dev.asyncdiff.synthetic;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code scheduler/scheduler_config.json} each family ships with: SD 1.5's PNDM (PLMS only,
 * {@code steps_offset} 1), SD 2.1's DDIM with v-prediction and SDXL's Euler discrete with
 * {@code leading} timestep spacing, SD 3's flow-matching Euler with shift 3. Keys and values follow the published files; SD 1.5's file
 * (diffusers 0.6.0) predates {@code prediction_type}, which is added with its default
 * {@code epsilon} so that readers need not know that default.
 *
 * <p>The x4 upscaler has two: DDIM with v-prediction for the latents, and the DDPM
 * {@code low_res_scheduler} that noises the low-resolution image to {@code noise_level}. Both use
 * the betas of Stability's {@code x4-upscaling.yaml} ({@code linear_start} 0.0001, {@code linear_end}
 * 0.02 on its "linear" schedule, which squares a linspace of square roots: diffusers' {@code scaled_linear});
 * the remaining keys are diffusers' values for these schedulers, not read from the hub files.
 */
public final class SchedulerConfigs {
    private static final BigDecimal BETA_START = new BigDecimal("0.00085");
    private static final BigDecimal BETA_END = new BigDecimal("0.012");
    private static final BigDecimal UPSCALER_BETA_START = new BigDecimal("0.0001");
    private static final BigDecimal UPSCALER_BETA_END = new BigDecimal("0.02");
    private static final String UPSCALER_VERSION = "0.9.0";

    private SchedulerConfigs() {
    }

    /** The scheduler config of {@code family}, keys in the order the published file lists them. */
    public static Map<String, Object> of(Family family) {
        Map<String, Object> config = new LinkedHashMap<>();
        switch (family.base()) {
            case SD15 -> {
                config.put("_class_name", "PNDMScheduler");
                config.put("_diffusers_version", "0.6.0");
                putBetas(config, BETA_START, BETA_END);
                config.put("num_train_timesteps", 1000);
                config.put("prediction_type", "epsilon");
                config.put("set_alpha_to_one", false);
                config.put("skip_prk_steps", true);
                config.put("steps_offset", 1);
                config.put("trained_betas", null);
                config.put("clip_sample", false);
            }
            case SD21 -> {
                config.put("_class_name", "DDIMScheduler");
                config.put("_diffusers_version", "0.8.0");
                putBetas(config, BETA_START, BETA_END);
                config.put("clip_sample", false);
                config.put("num_train_timesteps", 1000);
                config.put("prediction_type", "v_prediction");
                config.put("set_alpha_to_one", false);
                config.put("skip_prk_steps", true);
                config.put("steps_offset", 1);
                config.put("trained_betas", null);
            }
            case SDXL -> {
                config.put("_class_name", "EulerDiscreteScheduler");
                config.put("_diffusers_version", "0.19.0.dev0");
                putBetas(config, BETA_START, BETA_END);
                config.put("clip_sample", false);
                config.put("interpolation_type", "linear");
                config.put("num_train_timesteps", 1000);
                config.put("prediction_type", "epsilon");
                config.put("sample_max_value", new BigDecimal("1.0"));
                config.put("set_alpha_to_one", false);
                config.put("skip_prk_steps", true);
                config.put("steps_offset", 1);
                config.put("timestep_spacing", "leading");
                config.put("trained_betas", null);
                config.put("use_karras_sigmas", false);
            }
            case SD3 -> {
                config.put("_class_name", "FlowMatchEulerDiscreteScheduler");
                config.put("_diffusers_version", "0.29.0.dev0");
                config.put("num_train_timesteps", 1000);
                config.put("shift", new BigDecimal("3.0"));
            }
            case X4_UPSCALER -> {
                config.put("_class_name", "DDIMScheduler");
                config.put("_diffusers_version", UPSCALER_VERSION);
                putBetas(config, UPSCALER_BETA_START, UPSCALER_BETA_END);
                config.put("clip_sample", false);
                config.put("num_train_timesteps", 1000);
                config.put("prediction_type", "v_prediction");
                config.put("set_alpha_to_one", false);
                config.put("steps_offset", 1);
                config.put("timestep_spacing", "leading");
                config.put("trained_betas", null);
            }
            default -> throw new IllegalArgumentException("no scheduler config for family " + family);
        }
        return config;
    }

    /**
     * The {@code low_res_scheduler/scheduler_config.json} of an upscaling family: a DDPM scheduler
     * whose {@code add_noise} noises the low-resolution image to the requested {@code noise_level}.
     *
     * @throws IllegalArgumentException when {@code family} does not {@link Family#upscaler() upscale}
     */
    public static Map<String, Object> lowResolution(Family family) {
        if (!family.upscaler()) {
            throw new IllegalArgumentException("only an upscaling family has a low_res_scheduler, not " + family);
        }
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "DDPMScheduler");
        config.put("_diffusers_version", UPSCALER_VERSION);
        putBetas(config, UPSCALER_BETA_START, UPSCALER_BETA_END);
        config.put("clip_sample", false);
        config.put("num_train_timesteps", 1000);
        config.put("prediction_type", "epsilon");
        config.put("trained_betas", null);
        config.put("variance_type", "fixed_small");
        return config;
    }

    private static void putBetas(Map<String, Object> config, BigDecimal start, BigDecimal end) {
        config.put("beta_end", end);
        config.put("beta_schedule", "scaled_linear");
        config.put("beta_start", start);
    }
}
