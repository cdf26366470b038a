"""Registration, JWT login/refresh/logout and the caller's own account."""

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from shop.api.base_views import ApiRequestMixin, ApiView
from shop.api.throttling import BodyFieldRateThrottle, ScopedRateThrottle

from .email_verification import check_may_log_in, request_email_verification, verify_email
from .password_reset import confirm_password_reset, request_password_reset
from .services import change_password, create_user, logout_user, refresh_tokens, token_pair


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    email_verified = serializers.BooleanField()
    is_staff = serializers.BooleanField()


class PublicThrottledView(ApiView):
    """Open to anyone, rate-limited per client by the view's `throttle_scope`."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]


class RegisterView(PublicThrottledView):
    throttle_scope = "register"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150, trim_whitespace=False)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = create_user(**serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginSerializer(TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user):
        check_may_log_in(user)  # after the password was checked, before any token exists
        return super().get_token(user)


class LoginView(ApiRequestMixin, jwt_views.TokenObtainPairView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    serializer_class = LoginSerializer

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            response.data = token_pair(access=response.data["access"], refresh=response.data["refresh"])
        return response


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class RefreshView(PublicThrottledView):
    throttle_scope = "refresh"

    def post(self, request):
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(refresh_tokens(refresh=serializer.validated_data["refresh"]))


class LogoutView(ApiView):
    InputSerializer = RefreshInputSerializer

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        logout_user(user=request.user, refresh=serializer.validated_data["refresh"], access=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(ApiView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password"

    class InputSerializer(serializers.Serializer):
        old_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change_password(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailRequestView(PublicThrottledView):
    """An e-mail about an account asked for by address (a reset link, a verification link):
    always 202, limited per client (`throttle_scope`) and per address (`address_throttle`)."""

    address_throttle: type[BodyFieldRateThrottle]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)

    @staticmethod
    def ask(*, email: str) -> None:
        raise NotImplementedError

    def get_throttles(self):
        return [ScopedRateThrottle(), self.address_throttle()]

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.ask(**serializer.validated_data)
        return Response(status=status.HTTP_202_ACCEPTED)


class ResetAddressThrottle(BodyFieldRateThrottle):
    scope = "password_reset_address"
    field = "email"


class PasswordResetView(EmailRequestView):
    throttle_scope = "password_reset"
    address_throttle = ResetAddressThrottle
    ask = staticmethod(request_password_reset)


class PasswordResetConfirmView(PublicThrottledView):
    throttle_scope = "password_reset_confirm"

    class InputSerializer(serializers.Serializer):
        uid = serializers.CharField(max_length=32)
        token = serializers.CharField(max_length=100)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        confirm_password_reset(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerificationAddressThrottle(BodyFieldRateThrottle):
    scope = "email_verification_address"
    field = "email"


class EmailVerificationResendView(EmailRequestView):
    throttle_scope = "email_verification"
    address_throttle = VerificationAddressThrottle
    ask = staticmethod(request_email_verification)


class EmailVerifyView(PublicThrottledView):
    throttle_scope = "email_verify"

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=300)

    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verify_email(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(ApiView):
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)
