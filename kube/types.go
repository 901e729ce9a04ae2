package kube

// The objects runapp kube writes, as the fields of Kubernetes' API they
// use, each with the API's JSON name (k8s.io/api apps/v1, core/v1). They
// are declared here rather than imported: k8s.io/api and apimachinery
// would link about a hundred packages with init work into the one runapp
// binary, whose every launch would run it (see the package doc). The tests
// decode every manifest strictly into k8s.io/api's own types, so a field
// that is not the API's, or of another type, fails there.

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

type objectMeta struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type deployment struct {
	typeMeta
	Metadata objectMeta     `json:"metadata"`
	Spec     deploymentSpec `json:"spec"`
}

type deploymentSpec struct {
	Replicas int32           `json:"replicas"`
	Selector labelSelector   `json:"selector"`
	Strategy *strategy       `json:"strategy,omitempty"`
	Template podTemplateSpec `json:"template"`
}

type strategy struct {
	Type          string         `json:"type"`
	RollingUpdate *rollingUpdate `json:"rollingUpdate,omitempty"`
}

// rollingUpdate's values are int-or-string in the API; runapp writes
// integers.
type rollingUpdate struct {
	MaxUnavailable int `json:"maxUnavailable"`
	MaxSurge       int `json:"maxSurge"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type podTemplateSpec struct {
	Metadata objectMeta `json:"metadata"`
	Spec     podSpec    `json:"spec"`
}

type podSpec struct {
	// A pointer, so that false is written: the API's default is true.
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken"`
	EnableServiceLinks           *bool `json:"enableServiceLinks"`

	RestartPolicy                 string             `json:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds int64              `json:"terminationGracePeriodSeconds"`
	SecurityContext               podSecurityContext `json:"securityContext"`
	Containers                    []container        `json:"containers"`
	Volumes                       []volume           `json:"volumes,omitempty"`
}

type podSecurityContext struct {
	RunAsNonRoot   bool           `json:"runAsNonRoot"`
	RunAsUser      *int64         `json:"runAsUser,omitempty"`
	RunAsGroup     *int64         `json:"runAsGroup,omitempty"`
	SeccompProfile seccompProfile `json:"seccompProfile"`
}

type seccompProfile struct {
	Type string `json:"type"`
}

type container struct {
	Name            string          `json:"name"`
	Image           string          `json:"image"`
	Command         []string        `json:"command"`
	Ports           []containerPort `json:"ports,omitempty"`
	ReadinessProbe  *probe          `json:"readinessProbe,omitempty"`
	Lifecycle       *lifecycle      `json:"lifecycle,omitempty"`
	SecurityContext securityContext `json:"securityContext"`
	VolumeMounts    []volumeMount   `json:"volumeMounts,omitempty"`
}

type containerPort struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

type probe struct {
	HTTPGet          httpGetAction `json:"httpGet"`
	PeriodSeconds    int           `json:"periodSeconds"`
	TimeoutSeconds   int           `json:"timeoutSeconds"`
	FailureThreshold int           `json:"failureThreshold"`
}

// httpGetAction's port is int-or-string in the API: the port's name.
type httpGetAction struct {
	Path        string       `json:"path"`
	Port        string       `json:"port"`
	HTTPHeaders []httpHeader `json:"httpHeaders,omitempty"`
}

type httpHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type lifecycle struct {
	PreStop lifecycleHandler `json:"preStop"`
}

type lifecycleHandler struct {
	Sleep sleepAction `json:"sleep"`
}

type sleepAction struct {
	Seconds int64 `json:"seconds"`
}

type securityContext struct {
	RunAsNonRoot             bool         `json:"runAsNonRoot"`
	ReadOnlyRootFilesystem   bool         `json:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation bool         `json:"allowPrivilegeEscalation"`
	Capabilities             capabilities `json:"capabilities"`
}

type capabilities struct {
	Drop []string `json:"drop"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

type volume struct {
	Name     string                `json:"name"`
	Secret   *secretVolumeSource   `json:"secret,omitempty"`
	EmptyDir *emptyDirVolumeSource `json:"emptyDir,omitempty"`
}

type secretVolumeSource struct {
	SecretName string `json:"secretName"`
}

type emptyDirVolumeSource struct {
	Medium string `json:"medium,omitempty"`
}

type job struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     jobSpec    `json:"spec"`
}

type jobSpec struct {
	BackoffLimit int32           `json:"backoffLimit"`
	Template     podTemplateSpec `json:"template"`
}

type service struct {
	typeMeta
	Metadata objectMeta  `json:"metadata"`
	Spec     serviceSpec `json:"spec"`
}

type serviceSpec struct {
	Selector map[string]string `json:"selector"`
	Ports    []servicePort     `json:"ports"`
}

// servicePort's targetPort is int-or-string in the API: the port's name.
type servicePort struct {
	Name       string `json:"name"`
	Port       int    `json:"port"`
	TargetPort string `json:"targetPort"`
	Protocol   string `json:"protocol"`
}
